//! The swingset module: executing messages against the kernel (`exec.rs`) and recording
//! the results of deliveries as they settle (`results.rs`).

pub mod exec;
pub mod results;
