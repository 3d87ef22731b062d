//! `vatd dev`'s RPC under hostile clients: connections that trickle their request a byte
//! at a time do not hold up anyone else and are cut off at the deadline; running out of
//! file descriptors does not end the accept loop; oversized, chunked and over-batched
//! requests get a clear refusal.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn vatd() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_vatd"))
}

/// One HTTP exchange: the status code and body (the server closes every connection).
fn http(addr: &str, request: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    s.write_all(request.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.split_whitespace().nth(1)?.parse().ok()?;
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((status, body))
}

fn post(addr: &str, body: &str) -> Option<(u16, String)> {
    http(
        addr,
        &format!(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
}

fn status_ok(addr: &str) -> bool {
    post(
        addr,
        r#"{"jsonrpc":"2.0","id":1,"method":"status","params":{}}"#,
    )
    .is_some_and(|(code, body)| code == 200 && body.contains("latest_block_height"))
}

struct Dev(Child);

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn slow_and_greedy_clients_do_not_starve_the_rpc() {
    let home = tempfile::tempdir().expect("home");
    let addr = vatchain_testnet::free_local_address().expect("port");
    // Few file descriptors, so that the test can run the node out of them.
    let script = format!(
        "ulimit -n 96 && exec '{}' dev --home '{}' --rpc {addr} --block-time-ms 200",
        vatd().display(),
        home.path().display()
    );
    let log = home.path().join("dev.log");
    let _dev = Dev(Command::new("sh")
        .args(["-c", &script])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("vatd dev"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !status_ok(&addr) {
        assert!(Instant::now() < deadline, "vatd dev did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Four clients trickle a request a byte a second; everyone else is served at once.
    let tricklers: Vec<_> = (0..4)
        .map(|_| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(&addr).expect("connect");
                let req = "POST / HTTP/1.1\r\nContent-Length: 40\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"health\"}";
                let start = Instant::now();
                for b in req.bytes() {
                    if s.write_all(&[b]).is_err() {
                        break;
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
                start.elapsed()
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..10 {
        let t = Instant::now();
        assert!(status_ok(&addr));
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }
    // The tricklers are cut off at the request deadline, not served forever.
    for t in tricklers {
        let took = t.join().expect("trickler");
        assert!(
            took < Duration::from_secs(20),
            "a slow client was held {took:?}"
        );
    }

    // Out of file descriptors: accepts fail for a while, and the server carries on.
    let hogs: Vec<TcpStream> = (0..120)
        .filter_map(|_| TcpStream::connect(&addr).ok())
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    drop(hogs);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !status_ok(&addr) {
        assert!(
            Instant::now() < deadline,
            "the RPC did not recover from EMFILE"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        logged.contains("accepting an RPC connection failed"),
        "the node ran out of file descriptors (else this part proves nothing)"
    );

    // Clear refusals.
    let batch: Vec<String> = (0..21)
        .map(|i| format!(r#"{{"jsonrpc":"2.0","id":{i},"method":"health"}}"#))
        .collect();
    let (code, body) = post(&addr, &format!("[{}]", batch.join(","))).expect("batch");
    assert_eq!(code, 200);
    assert!(body.contains("at most 20"), "{body}");
    let (code, _) =
        http(&addr, "POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n").expect("big");
    assert_eq!(code, 413);
    let (code, _) = http(
        &addr,
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    )
    .expect("chunked");
    assert_eq!(code, 411);
    assert!(status_ok(&addr));
}
