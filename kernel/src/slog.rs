//! The structured crank log ("slog"): one JSON line per delivery, for operators and for
//! debugging determinism, and the vats' console output. Not consensus state: a node may
//! switch it on or off freely.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::refs::VatId;
use crate::transcript::SyscallRecord;
use crate::worker::{ConsoleLine, VatDelivery};

pub(crate) struct Slog {
    out: BufWriter<File>,
}

impl Slog {
    pub(crate) fn open(path: &Path) -> std::io::Result<Slog> {
        let f = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Slog {
            out: BufWriter::new(f),
        })
    }

    pub(crate) fn delivery(
        &mut self,
        crank: u64,
        vat: VatId,
        delivery: &VatDelivery,
        syscalls: &[SyscallRecord],
        computrons: u64,
        failure: Option<&str>,
    ) {
        let line = serde_json::json!({
            "type": "deliver",
            "crank": crank,
            "vatID": vat.to_string(),
            "delivery": delivery,
            "syscalls": syscalls,
            "computrons": computrons,
            "status": match failure { None => serde_json::json!("ok"), Some(f) => serde_json::json!({ "failed": f }) },
        });
        self.write(&line);
    }

    /// A vat's console output during a live delivery (`"type": "console"`, one line each).
    pub(crate) fn console(&mut self, crank: u64, vat: VatId, lines: &[ConsoleLine]) {
        for l in lines {
            let line = serde_json::json!({
                "type": "console",
                "crank": crank,
                "vatID": vat.to_string(),
                "level": l.level,
                "text": l.text,
            });
            self.write(&line);
        }
    }

    /// A kernel decision about a vat that is not a delivery (`"type": kind`), with why.
    pub(crate) fn note(&mut self, crank: u64, vat: VatId, kind: &str, reason: &str) {
        let line = serde_json::json!({
            "type": kind,
            "crank": crank,
            "vatID": vat.to_string(),
            "reason": reason,
        });
        self.write(&line);
    }

    fn write(&mut self, line: &serde_json::Value) {
        // The log is best effort: a full disk must not stop consensus.
        if let Err(e) = writeln!(self.out, "{line}") {
            tracing::warn!(error = %e, "cannot write the slog");
        }
    }

    pub(crate) fn flush(&mut self) {
        if let Err(e) = self.out.flush() {
            tracing::warn!(error = %e, "cannot flush the slog");
        }
    }
}

impl Drop for Slog {
    fn drop(&mut self) {
        self.flush();
    }
}
