//! The zip inside an `endoZipBase64` bundle, read strictly: stored (uncompressed) members
//! only, as `@endo/zip` writes them, each checked against its CRC, no duplicate or
//! encrypted members. Stored-only also means a member's size is bounded by the bundle's
//! own size: there is no decompression to bomb.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use zip::CompressionMethod;

use super::BundleError;

/// Every member of the archive, by name.
pub(super) fn read_members(bytes: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, BundleError> {
    let bad = |why: String| BundleError::Archive(why);
    let mut zip =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| bad(format!("not a zip: {e}")))?;
    let mut members = BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip
            .by_index(i)
            .map_err(|e| bad(format!("member {i} is unreadable: {e}")))?;
        let name = f
            .name()
            .map_err(|e| bad(format!("member {i} has no readable name: {e}")))?
            .to_string();
        if f.encrypted() {
            return Err(bad(format!("member {name:?} is encrypted")));
        }
        if f.compression() != CompressionMethod::Stored {
            return Err(bad(format!(
                "member {name:?} is compressed ({}); bundles store their members",
                f.compression()
            )));
        }
        // `size` is what the central directory claims; stored members cannot be larger
        // than the archive, so this is at most `bytes.len()`.
        let mut data = Vec::with_capacity(usize::try_from(f.size()).unwrap_or(0).min(bytes.len()));
        // Reading to the end checks the member's CRC-32.
        f.read_to_end(&mut data)
            .map_err(|e| bad(format!("member {name:?} is corrupt: {e}")))?;
        if members.insert(name.clone(), data).is_some() {
            return Err(bad(format!("member {name:?} appears twice")));
        }
    }
    Ok(members)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use zip::write::SimpleFileOptions;

    fn zip_of(files: &[(&str, &[u8])], method: CompressionMethod) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in files {
            w.start_file(
                *name,
                SimpleFileOptions::default().compression_method(method),
            )
            .expect("start");
            w.write_all(data).expect("write");
        }
        w.finish().expect("finish").into_inner()
    }

    #[test]
    fn stored_members_are_read_by_name() {
        let z = zip_of(
            &[("a.json", b"{}"), ("p/b.js", b"x")],
            CompressionMethod::Stored,
        );
        let m = read_members(&z).expect("a good zip");
        assert_eq!(m.len(), 2);
        assert_eq!(m["p/b.js"], b"x");
    }

    #[test]
    fn a_corrupted_member_is_refused() {
        let mut z = zip_of(&[("a.txt", b"hello world")], CompressionMethod::Stored);
        let at = z
            .windows(11)
            .position(|w| w == b"hello world")
            .expect("stored bytes appear as they are");
        z[at] = b'j';
        let e = read_members(&z).expect_err("the CRC no longer matches");
        assert!(e.to_string().contains("corrupt"), "{e}");
    }

    #[test]
    fn a_compressed_member_is_refused() {
        let mut z = zip_of(&[("a.txt", b"hello")], CompressionMethod::Stored);
        // Say "deflated" (8) in the local header (method at +8) and the central directory
        // entry (at +10): stored bytes then claim to be compressed.
        for (sig, off) in [(b"PK\x03\x04", 8), (b"PK\x01\x02", 10)] {
            let at = z.windows(4).position(|w| w == sig).expect("a header");
            z[at + off] = 8;
        }
        let e = read_members(&z).expect_err("compressed members are refused");
        assert!(e.to_string().contains("compressed"), "{e}");
    }

    #[test]
    fn garbage_is_not_a_zip() {
        let e = read_members(b"PK\x03\x04 but not really").expect_err("not a zip");
        assert!(e.to_string().contains("not a zip"), "{e}");
    }
}
