//! The ABCI socket server CometBFT connects to (its `proxy_app`), in place of
//! tendermint-abci's: that one unwraps an empty request (a single `0x00` frame aborts the
//! node, since a panic anywhere stops the process) and buffers whatever length a frame
//! declares. Here every frame is bounded and every malformed one is answered, never
//! trusted.
//!
//! The Tendermint Socket Protocol: each message is a protobuf `Request` (in) or `Response`
//! (out), prefixed with its length as an unsigned varint. One thread serves each connection
//! (CometBFT opens four: consensus, mempool, query, snapshot) and answers its requests in
//! order; the application (`VatdApp`) does the rest.
//!
//! Bad input on a connection:
//! - a frame longer than [`MAX_FRAME_BYTES`], or a length that is not a varint: the
//!   connection is closed (nothing more on it can be framed); nothing is buffered first;
//! - a frame that does not decode, or a `Request` with no value: an `exception` response
//!   naming the problem, and the connection goes on.
//!
//! Accept errors (out of file descriptors, say) are logged and retried after a pause: the
//! listener keeps serving once the pressure is gone. At most [`MAX_CONNECTIONS`] are served
//! at once.

use std::io::{BufReader, BufWriter, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use tendermint_abci::Application;
use tendermint_proto::v0_38::abci::{request, response, Request, Response, ResponseException};

/// The largest frame accepted: a block's FinalizeBlock request is bounded by CometBFT's
/// `max_block_bytes` (21 MiB by default; at most 100 MiB), so this leaves room for any block
/// a validator would propose.
pub const MAX_FRAME_BYTES: u64 = 128 << 20;

/// Connections served at once (CometBFT opens four); more are closed at once. Each may
/// buffer one frame of at most [`MAX_FRAME_BYTES`].
pub const MAX_CONNECTIONS: usize = 16;

/// One connection, counted for as long as this lives.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Serves `app` on `listener` until the process ends.
pub fn serve<A: Application>(listener: TcpListener, app: A) -> ! {
    let open = Arc::new(AtomicUsize::new(0));
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                if open.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
                    tracing::warn!(%peer, "refusing an ABCI connection: {MAX_CONNECTIONS} are open");
                    continue;
                }
                open.fetch_add(1, Ordering::SeqCst);
                let slot = Slot(open.clone());
                tracing::info!(%peer, "ABCI connection");
                let app = app.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("abci-{peer}"))
                    .spawn(move || {
                        let _slot = slot;
                        serve_connection(stream, &app, &peer.to_string())
                    });
                if let Err(e) = spawned {
                    tracing::error!(%peer, error = %e, "cannot start a thread for the connection");
                }
            }
            Err(e) => {
                // EMFILE and friends pass; the listener must not die of them.
                tracing::warn!(error = %e, "accepting an ABCI connection failed; retrying");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

fn serve_connection<A: Application>(stream: TcpStream, app: &A, peer: &str) {
    let Ok(write_half) = stream.try_clone() else {
        tracing::error!(peer, "cannot clone the ABCI stream");
        return;
    };
    let mut reader = BufReader::new(stream);
    let mut writer = BufWriter::new(write_half);
    loop {
        let response = match read_frame(&mut reader) {
            Ok(None) => return,
            Ok(Some(frame)) => answer(app, &frame),
            Err(why) => {
                tracing::warn!(peer, "closing the ABCI connection: {why}");
                return;
            }
        };
        if let Err(e) = write_frame(&mut writer, &response) {
            tracing::warn!(peer, error = %e, "cannot answer on the ABCI connection");
            return;
        }
    }
}

/// The response to one frame: the application's, or an exception for a frame that is not
/// a request.
fn answer<A: Application>(app: &A, frame: &[u8]) -> Response {
    match Request::decode(frame) {
        Ok(Request { value: Some(v) }) => Response {
            value: Some(dispatch(app, v)),
        },
        Ok(_) => exception("the request is empty (it names no ABCI method)"),
        Err(e) => exception(&format!("the request does not decode: {e}")),
    }
}

/// Calls the application method a request names.
fn dispatch<A: Application>(app: &A, v: request::Value) -> response::Value {
    use request::Value as Q;
    use response::Value as R;
    match v {
        Q::Echo(r) => R::Echo(app.echo(r)),
        Q::Flush(_) => R::Flush(app.flush()),
        Q::Info(r) => R::Info(app.info(r)),
        Q::InitChain(r) => R::InitChain(app.init_chain(r)),
        Q::Query(r) => R::Query(app.query(r)),
        Q::CheckTx(r) => R::CheckTx(app.check_tx(r)),
        Q::Commit(_) => R::Commit(app.commit()),
        Q::ListSnapshots(_) => R::ListSnapshots(app.list_snapshots()),
        Q::OfferSnapshot(r) => R::OfferSnapshot(app.offer_snapshot(r)),
        Q::LoadSnapshotChunk(r) => R::LoadSnapshotChunk(app.load_snapshot_chunk(r)),
        Q::ApplySnapshotChunk(r) => R::ApplySnapshotChunk(app.apply_snapshot_chunk(r)),
        Q::PrepareProposal(r) => R::PrepareProposal(app.prepare_proposal(r)),
        Q::ProcessProposal(r) => R::ProcessProposal(app.process_proposal(r)),
        Q::ExtendVote(r) => R::ExtendVote(app.extend_vote(r)),
        Q::VerifyVoteExtension(r) => R::VerifyVoteExtension(app.verify_vote_extension(r)),
        Q::FinalizeBlock(r) => R::FinalizeBlock(app.finalize_block(r)),
    }
}

fn exception(error: &str) -> Response {
    Response {
        value: Some(response::Value::Exception(ResponseException {
            error: error.to_string(),
        })),
    }
}

/// The next frame's bytes; `None` at a clean end of stream (between frames).
fn read_frame(r: &mut impl Read) -> Result<Option<Vec<u8>>, String> {
    let Some(len) = read_uvarint(r)? else {
        return Ok(None);
    };
    if len > MAX_FRAME_BYTES {
        return Err(format!(
            "a frame of {len} bytes was announced; the limit is {MAX_FRAME_BYTES}"
        ));
    }
    // The length is bounded, so the buffer is too; it fills only as fast as bytes come.
    let mut frame = Vec::new();
    r.take(len)
        .read_to_end(&mut frame)
        .map_err(|e| format!("reading a frame: {e}"))?;
    if frame.len() as u64 != len {
        return Err(format!(
            "the stream ended {} bytes into a frame of {len}",
            frame.len()
        ));
    }
    Ok(Some(frame))
}

/// An unsigned LEB128 varint (at most 10 bytes for a u64); `None` if the stream ends before
/// its first byte.
fn read_uvarint(r: &mut impl Read) -> Result<Option<u64>, String> {
    let mut value: u64 = 0;
    for i in 0..10 {
        let Some(b) = read_byte(r)? else {
            return if i == 0 {
                Ok(None)
            } else {
                Err("the stream ended inside a length prefix".into())
            };
        };
        if i == 9 && b > 1 {
            return Err("the length prefix overflows 64 bits".into());
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(Some(value));
        }
    }
    Err("the length prefix is longer than 10 bytes".into())
}

/// One byte (`None` at the end of the stream), retrying interrupted reads.
fn read_byte(r: &mut impl Read) -> Result<Option<u8>, String> {
    let mut byte = [0u8; 1];
    loop {
        match r.read(&mut byte) {
            Ok(0) => return Ok(None),
            Ok(_) => return Ok(Some(byte[0])),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("reading a length prefix: {e}")),
        }
    }
}

fn write_frame(w: &mut impl Write, response: &Response) -> std::io::Result<()> {
    let body = response.encode_to_vec();
    let mut prefix = Vec::with_capacity(10);
    prost::encoding::encode_varint(body.len() as u64, &mut prefix);
    w.write_all(&prefix)?;
    w.write_all(&body)?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_read_as_the_socket_protocol_writes_them() {
        let mut bytes = Vec::new();
        prost::encoding::encode_varint(300, &mut bytes);
        bytes.extend(std::iter::repeat_n(7u8, 300));
        prost::encoding::encode_varint(0, &mut bytes);
        let mut r = bytes.as_slice();
        assert_eq!(read_frame(&mut r).expect("frame").expect("some").len(), 300);
        assert_eq!(read_frame(&mut r).expect("frame"), Some(vec![]));
        assert_eq!(read_frame(&mut r).expect("end"), None);
    }

    #[test]
    fn oversized_truncated_and_overlong_prefixes_are_refused_before_any_buffering() {
        let mut huge = Vec::new();
        prost::encoding::encode_varint(1 << 40, &mut huge);
        let err = read_frame(&mut huge.as_slice()).expect_err("too big");
        assert!(err.contains("limit"), "{err}");
        let err = read_frame(&mut [0x85u8].as_slice()).expect_err("cut");
        assert!(err.contains("inside a length prefix"), "{err}");
        let err = read_frame(&mut [0xffu8; 11].as_slice()).expect_err("overlong");
        assert!(err.contains("64 bits") || err.contains("10 bytes"), "{err}");
        let err = read_frame(&mut [5u8, 1, 2].as_slice()).expect_err("short frame");
        assert!(err.contains("ended 2 bytes into a frame of 5"), "{err}");
    }
}
