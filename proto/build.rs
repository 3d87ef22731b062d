//! Compiles `proto/**/*.proto` with protox (a pure-Rust protobuf compiler), so that no
//! system `protoc` is needed, then generates Rust with prost-build.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "proto/vatchain/swingset/v1/tx.proto",
        "proto/vatchain/swingset/v1/query.proto",
    ];
    for f in files {
        println!("cargo:rerun-if-changed={f}");
    }
    let fds = protox::compile(files, ["proto"])?;
    prost_build::Config::new().compile_fds(fds)?;
    Ok(())
}
