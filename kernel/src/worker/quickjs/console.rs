//! A vat's console output, collected during one delivery (the `__console` native function
//! that `js/console.js` wraps) and handed to the kernel with the delivery's outcome.
//!
//! It never reaches consensus state, but writing it is work the vat does, so each line is
//! charged to the delivery's meter like a syscall carrying its bytes: the same charge live
//! and in replay, so computrons do not depend on whether anyone reads the output. What one
//! delivery may write is capped ([`MAX_LINE_BYTES`], [`MAX_DELIVERY_BYTES`]): beyond, lines
//! are counted, not kept, and a last line says how many went.

use std::cell::{Cell, RefCell};

use crate::worker::ConsoleLine;

/// Longest line kept; longer ones are cut (at a character boundary) and marked.
pub const MAX_LINE_BYTES: usize = 4 << 10;
/// Output one delivery may leave; lines past it are dropped and counted.
pub const MAX_DELIVERY_BYTES: usize = 64 << 10;

const LEVELS: &[&str] = &["log", "info", "warn", "error", "debug", "trace"];

#[derive(Default)]
pub(crate) struct ConsoleBuffer {
    lines: RefCell<Vec<ConsoleLine>>,
    bytes: Cell<usize>,
    dropped: Cell<u64>,
}

impl ConsoleBuffer {
    /// Keeps one line (or counts it, past the cap).
    pub(crate) fn write(&self, level: &str, text: &str) {
        let level = LEVELS
            .iter()
            .find(|l| **l == level)
            .copied()
            .unwrap_or("log");
        let text = if text.len() > MAX_LINE_BYTES {
            let mut end = MAX_LINE_BYTES;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}… ({} bytes cut)", &text[..end], text.len() - end)
        } else {
            text.to_string()
        };
        if self.bytes.get() + text.len() > MAX_DELIVERY_BYTES {
            self.dropped.set(self.dropped.get() + 1);
            return;
        }
        self.bytes.set(self.bytes.get() + text.len());
        self.lines.borrow_mut().push(ConsoleLine {
            level: level.to_string(),
            text,
        });
    }

    /// The delivery's lines, and the buffer emptied for the next one.
    pub(crate) fn take(&self) -> Vec<ConsoleLine> {
        let mut lines = std::mem::take(&mut *self.lines.borrow_mut());
        let dropped = self.dropped.replace(0);
        self.bytes.set(0);
        if dropped > 0 {
            lines.push(ConsoleLine {
                level: "warn".into(),
                text: format!(
                    "{dropped} more console lines dropped (over {MAX_DELIVERY_BYTES} bytes in one delivery)"
                ),
            });
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_and_a_full_delivery_counts_what_it_drops() {
        let b = ConsoleBuffer::default();
        b.write("nonsense", &"é".repeat(MAX_LINE_BYTES));
        for _ in 0..(MAX_DELIVERY_BYTES / 100) {
            b.write("info", &"x".repeat(100));
        }
        let lines = b.take();
        assert_eq!(lines[0].level, "log", "an unknown level is a log");
        assert!(
            lines[0].text.ends_with("bytes cut)"),
            "{}",
            &lines[0].text[4000..]
        );
        let last = lines.last().expect("lines");
        assert_eq!(last.level, "warn");
        assert!(
            last.text.contains("more console lines dropped"),
            "{}",
            last.text
        );
        let kept: usize = lines[..lines.len() - 1].iter().map(|l| l.text.len()).sum();
        assert!(kept <= MAX_DELIVERY_BYTES);
        assert!(b.take().is_empty(), "taken once");
    }
}
