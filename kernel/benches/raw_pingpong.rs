//! Raw-vat ping-pong: the kernel's floor, without any vat engine.
//!
//! Two Rust vats play N round trips (each a `message` and a `notify` delivery) on a RocksDB
//! store, committing one block per 1,000 deliveries. Prints deliveries/s and ms per commit.
//! `cargo bench -p vatchain-kernel --bench raw_pingpong [-- ROUND_TRIPS]`
//! (`cargo test` runs it as a 200-round-trip smoke test: without `--bench` it only checks
//! that the benchmark works.)

// The allocator vatd uses (see app/src/main.rs), so the figures are the node's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "common/raw.rs"]
mod raw;

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let round_trips: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(if benching { 20_000 } else { 200 });
    // `--memory`: the in-memory store, to separate kernel cost from RocksDB cost.
    let memory = std::env::args().any(|a| a == "--memory");
    let f = raw::run(round_trips, memory);
    println!(
        "raw-vat ping-pong: {round_trips} round trips, {} deliveries, {} blocks",
        f.deliveries, f.blocks
    );
    println!(
        "  {:.0} deliveries/s   {:.2} ms per block commit   {:.2} s total",
        f.per_second(),
        f.ms_per_commit(),
        f.elapsed.as_secs_f64()
    );
}
