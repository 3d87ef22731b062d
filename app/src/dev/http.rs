//! The HTTP/1.1 server under `vatd dev`'s JSON-RPC: small, synchronous, and bounded
//! against clients that are slow or hostile.
//!
//! - Each connection has a reader thread that must receive the whole request (headers of at
//!   most [`MAX_HEADER_BYTES`], a body of at most the configured size, by `Content-Length`)
//!   within [`REQUEST_DEADLINE`]; a slow or stalled client is cut off there.
//! - Only complete requests reach the [`WORKERS`] handler threads, through a bounded queue:
//!   slow connections hold a reader each, never a worker.
//! - At most [`MAX_CONNECTIONS`] connections are open at once; past that, and when the
//!   queue is full, the answer is `503` with a JSON-RPC error, at once.
//! - Accept errors (out of file descriptors, say) are logged and retried after a pause:
//!   the listener never dies of them.
//!
//! Every response closes its connection (`Connection: close`): no idle keep-alive
//! connections to hold.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Open connections at most: well under a process's usual 1,024 file descriptors, so the
/// RPC can never take the ones RocksDB needs.
pub const MAX_CONNECTIONS: usize = 128;
/// Threads that run handlers.
pub const WORKERS: usize = 4;
/// Complete requests waiting for a worker at most.
pub const QUEUE: usize = 64;
/// The request line and headers, at most.
pub const MAX_HEADER_BYTES: usize = 16 << 10;
/// Time a client has to send its whole request.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(10);

/// A request as the handler sees it.
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub body: Vec<u8>,
}

/// What a handler answers: a status and a JSON body.
pub struct Response {
    pub status: u16,
    pub body: String,
}

pub type Handler = dyn Fn(Request) -> Response + Send + Sync;

struct Job {
    stream: TcpStream,
    request: Request,
    /// Counts the connection as open until the answer is written.
    _open: Open,
}

/// One open connection, counted for as long as this lives.
struct Open(Arc<AtomicUsize>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Serves `handler` on `listener` (threads of its own); `busy` is the body of a `503`.
pub fn serve(
    listener: TcpListener,
    handler: Arc<Handler>,
    max_body: usize,
    busy: String,
) -> std::io::Result<()> {
    let (tx, rx) = sync_channel::<Job>(QUEUE);
    let rx = Arc::new(Mutex::new(rx));
    for i in 0..WORKERS {
        let (rx, handler) = (rx.clone(), handler.clone());
        std::thread::Builder::new()
            .name(format!("vatd-rpc-{i}"))
            .spawn(move || work(&rx, &*handler))?;
    }
    let open = Arc::new(AtomicUsize::new(0));
    std::thread::Builder::new()
        .name("vatd-rpc-accept".into())
        .spawn(move || accept_loop(&listener, &tx, &open, max_body, &busy))?;
    Ok(())
}

fn accept_loop(
    listener: &TcpListener,
    tx: &SyncSender<Job>,
    open: &Arc<AtomicUsize>,
    max_body: usize,
    busy: &str,
) {
    loop {
        let mut stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) => {
                tracing::warn!(error = %e, "accepting an RPC connection failed; retrying");
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        if open.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
            refuse(&mut stream, busy);
            continue;
        }
        open.fetch_add(1, Ordering::SeqCst);
        let slot = Open(open.clone());
        let (tx, busy) = (tx.clone(), busy.to_string());
        // On a failed spawn the closure, and the slot with it, is dropped.
        let _ = std::thread::Builder::new()
            .name("vatd-rpc-conn".into())
            .spawn(move || read_and_queue(stream, slot, &tx, max_body, &busy));
    }
}

/// Reads one request within the deadline and hands it to a worker (or answers at once).
fn read_and_queue(
    mut stream: TcpStream,
    open: Open,
    tx: &SyncSender<Job>,
    max_body: usize,
    busy: &str,
) {
    let request = match read_request(&stream, max_body) {
        Ok(r) => r,
        Err((status, why)) => {
            if status != 0 {
                let _ = write_response(&mut stream, status, &error_body(&why));
            }
            return;
        }
    };
    match tx.try_send(Job {
        stream,
        request,
        _open: open,
    }) {
        Ok(()) => {}
        Err(TrySendError::Full(mut job) | TrySendError::Disconnected(mut job)) => {
            refuse(&mut job.stream, busy)
        }
    }
}

fn work(rx: &Mutex<Receiver<Job>>, handler: &Handler) {
    loop {
        let job = match rx.lock() {
            Ok(guard) => guard.recv(),
            Err(_) => return,
        };
        let Ok(mut job) = job else { return };
        let r = handler(job.request);
        let _ = write_response(&mut job.stream, r.status, &r.body);
    }
}

/// Answers `503` without waiting: one non-blocking write (it fits in the socket buffer), so
/// that refusing never holds the accept loop, then the connection closes.
fn refuse(stream: &mut TcpStream, busy: &str) {
    let bytes = response_bytes(503, busy);
    if stream.set_nonblocking(true).is_ok() {
        let _ = stream.write(&bytes);
    }
}

fn error_body(why: &str) -> String {
    serde_json::json!({"jsonrpc": "2.0", "id": null,
        "error": {"code": -32600, "message": "Invalid Request", "data": why}})
    .to_string()
}

/// The request on `stream`; on failure, the status to answer with (0: just close).
fn read_request(stream: &TcpStream, max_body: usize) -> Result<Request, (u16, String)> {
    let deadline = Instant::now() + REQUEST_DEADLINE;
    let timed_out = || (408, "the request took too long".to_string());
    let mut reader = BufReader::new(Deadline { stream, deadline });
    let mut head = Vec::new();
    // The request line and headers, up to the empty line.
    loop {
        let mut line = Vec::new();
        let n = (&mut reader)
            .take((MAX_HEADER_BYTES + 1 - head.len().min(MAX_HEADER_BYTES)) as u64)
            .read_until(b'\n', &mut line)
            .map_err(|_| timed_out())?;
        if n == 0 {
            return Err((0, "the client closed the connection".into()));
        }
        head.extend_from_slice(&line);
        if head.len() > MAX_HEADER_BYTES {
            return Err((431, "the request headers are too large".into()));
        }
        if line == b"\r\n" || line == b"\n" {
            break;
        }
    }
    let head = String::from_utf8(head).map_err(|_| (400, "headers are not UTF-8".into()))?;
    let mut lines = head.lines();
    let mut first = lines.next().unwrap_or("").split_whitespace();
    let (Some(method), Some(target)) = (first.next(), first.next()) else {
        return Err((400, "a malformed request line".into()));
    };
    let mut length = 0usize;
    for h in lines {
        let Some((name, value)) = h.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => {
                length = value
                    .parse()
                    .map_err(|_| (400, "a bad Content-Length".to_string()))?
            }
            "transfer-encoding" if !value.eq_ignore_ascii_case("identity") => {
                return Err((411, "send a Content-Length (no chunked bodies)".into()))
            }
            _ => {}
        }
    }
    if length > max_body {
        return Err((413, format!("the body is over {max_body} bytes")));
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).map_err(|_| timed_out())?;
    Ok(Request {
        method: method.to_string(),
        target: target.to_string(),
        body,
    })
}

/// A stream whose every read waits only until `deadline`.
struct Deadline<'a> {
    stream: &'a TcpStream,
    deadline: Instant,
}

impl Read for Deadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        self.stream.set_read_timeout(Some(left))?;
        let mut s = self.stream;
        s.read(buf)
    }
}

/// Writes the whole response within [`REQUEST_DEADLINE`], however slowly the client reads:
/// a client that does not take it in time is cut off (it would otherwise hold a worker).
fn write_response(stream: &mut TcpStream, status: u16, body: &str) -> std::io::Result<()> {
    let bytes = response_bytes(status, body);
    let deadline = Instant::now() + REQUEST_DEADLINE;
    let mut sent = 0;
    while sent < bytes.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        stream.set_write_timeout(Some(left))?;
        match stream.write(&bytes[sent..]) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => sent += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    stream.flush()
}

fn response_bytes(status: u16, body: &str) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n\
         Access-Control-Allow-Origin: *\r\nAccess-Control-Allow-Headers: Content-Type\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
