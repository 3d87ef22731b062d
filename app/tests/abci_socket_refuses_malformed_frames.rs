//! The ABCI socket as a hostile peer would use it: an empty frame, a frame that is not a
//! request, a length prefix of 2^40 bytes, a prefix cut short, and plain garbage. Each is
//! answered with an exception or ends its own connection; the node stays up, its memory
//! does not grow by what a frame announced, and the consensus connection still works.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use prost::Message;
use tendermint_proto::v0_38::abci::{response, Response};
use vatchain_testnet::{free_local_address, AbciDriver, NodeProcess};

fn vatd() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_vatd"))
}

/// Sends `bytes` and reads one length-prefixed response (or `None`: the node closed the
/// connection).
fn exchange(addr: &str, bytes: &[u8]) -> Option<Response> {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    // The node may close the connection before taking all of it in (that is the point of
    // some frames): a failed write is not the test's business; what comes back is.
    let _ = s.write_all(bytes);
    // Nothing more follows: a frame cut short ends with the stream.
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut len: u64 = 0;
    for i in 0..10 {
        let mut b = [0u8; 1];
        match s.read(&mut b) {
            Ok(1) => {}
            _ => return None,
        }
        len |= u64::from(b[0] & 0x7f) << (7 * i);
        if b[0] & 0x80 == 0 {
            break;
        }
    }
    let mut body = vec![0u8; usize::try_from(len).expect("len")];
    s.read_exact(&mut body).ok()?;
    Some(Response::decode(body.as_slice()).expect("a response"))
}

fn exception(r: Option<Response>) -> String {
    match r.and_then(|r| r.value) {
        Some(response::Value::Exception(e)) => e.error,
        other => panic!("expected an exception, got {other:?}"),
    }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

#[test]
fn malformed_frames_are_answered_or_dropped_and_the_node_stays_up() -> anyhow::Result<()> {
    let home = tempfile::tempdir()?;
    let addr = free_local_address()?;
    let mut node = NodeProcess::start(vatd(), home.path(), &addr)?;
    let mut cmt = AbciDriver::connect(&addr, Duration::from_secs(30))?;
    cmt.init_chain("vatchain-test", b"{}")?;
    cmt.block(1, 1005, vec![])?;

    // A zero-length frame: an empty Request, which names no method.
    let e = exception(exchange(&addr, &[0x00]));
    assert!(e.contains("empty"), "{e}");
    // A frame whose bytes are not a Request.
    let e = exception(exchange(&addr, &[3, 0xff, 0xff, 0xff]));
    assert!(e.contains("does not decode"), "{e}");

    // A 2^40-byte frame is refused before anything is buffered: the connection ends.
    let before = rss_kib(node.pid());
    let mut huge = Vec::new();
    prost::encoding::encode_varint(1 << 40, &mut huge);
    huge.extend(std::iter::repeat_n(0u8, 1 << 20));
    assert!(exchange(&addr, &huge).is_none(), "the connection is closed");
    // A prefix cut short, an overlong one, garbage: each ends only its connection.
    assert!(exchange(&addr, &[0x85]).is_none());
    assert!(exchange(&addr, &[0xff; 16]).is_none());
    assert!(
        node.wait_exit(Duration::from_millis(300))?.is_none(),
        "vatd is still up"
    );
    let grown = rss_kib(node.pid()).saturating_sub(before);
    assert!(grown < 64 << 10, "RSS grew by {grown} KiB");

    // The consensus connection carries on.
    assert_eq!(cmt.info()?.0, 1);
    let r = cmt.block(2, 1010, vec![])?;
    assert_eq!(r.app_hash.len(), 32);
    let mut fresh = AbciDriver::connect(&addr, Duration::from_secs(10))?;
    assert_eq!(fresh.info()?.0, 2);
    Ok(())
}
