//! Named crash points, for fault-injection tests: `VATD_CRASH_AT=<point>[@<n>]` makes the
//! process SIGKILL itself the `n`-th time (default: the first) it reaches `<point>`, exactly
//! as `kill -9` from outside would at that instant, but at a place an outside kill can only
//! hit by luck. Unset (every real node), a crash point is one relaxed atomic load.
//!
//! The points (each named where it is reached):
//! - `finalize-block`: a block has run, its FinalizeBlock answer is not yet sent;
//! - `commit-before-write`: Commit arrived, the block's WriteBatch is not yet written;
//! - `commit-after-write`: the WriteBatch is on disk, Commit is not yet answered;
//! - `upgrade-handler`: a software-upgrade handler has run (in memory), its block has not
//!   finished.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

pub const FINALIZE_BLOCK: &str = "finalize-block";
pub const COMMIT_BEFORE_WRITE: &str = "commit-before-write";
pub const COMMIT_AFTER_WRITE: &str = "commit-after-write";
pub const UPGRADE_HANDLER: &str = "upgrade-handler";

/// Every point, for `--help` texts and for tests that pick one.
pub const ALL: [&str; 4] = [
    FINALIZE_BLOCK,
    COMMIT_BEFORE_WRITE,
    COMMIT_AFTER_WRITE,
    UPGRADE_HANDLER,
];

/// The environment variable naming the point.
pub const ENV: &str = "VATD_CRASH_AT";

struct Armed {
    point: String,
    at_hit: u64,
    hits: AtomicU64,
}

fn armed() -> Option<&'static Armed> {
    static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
    ARMED
        .get_or_init(|| {
            let spec = std::env::var(ENV).ok()?;
            let (point, n) = match spec.split_once('@') {
                Some((p, n)) => (p, n.parse().ok()?),
                None => (spec.as_str(), 1),
            };
            if !ALL.contains(&point) {
                eprintln!("vatd: {ENV}={spec}: unknown crash point (known: {ALL:?}); ignored");
                return None;
            }
            Some(Armed {
                point: point.to_string(),
                at_hit: n,
                hits: AtomicU64::new(0),
            })
        })
        .as_ref()
}

/// Reaching `point`: dies here if `VATD_CRASH_AT` names it and this is the chosen hit.
pub fn reached(point: &str) {
    let Some(a) = armed() else { return };
    if a.point != point || a.hits.fetch_add(1, Ordering::SeqCst) + 1 != a.at_hit {
        return;
    }
    eprintln!("vatd: crash point {point} reached ({ENV}): SIGKILL");
    // SIGKILL from outside (`kill` is on every system vatd runs on): no destructor, no
    // flush, no RocksDB shutdown, as in a real crash. abort() if that fails.
    let _ = std::process::Command::new("kill")
        .args(["-9", &std::process::id().to_string()])
        .status();
    std::process::abort();
}

/// The environment variable of the other injected fault: `VATD_FAIL_READS=<kv-prefix>`
/// makes every read of a committed `kv` key under the prefix fail from the start, as a
/// broken disk sector would (the kernel halts at the first crank that reads one, and the
/// node stops with exit 75). Unset on every real node.
pub const FAIL_READS_ENV: &str = "VATD_FAIL_READS";

/// Arms the read fault on `store` if `VATD_FAIL_READS` names a prefix.
pub fn arm_read_faults(store: &mut vatchain_kernel::store::Store) {
    if let Ok(prefix) = std::env::var(FAIL_READS_ENV) {
        if !prefix.is_empty() {
            eprintln!("vatd: {FAIL_READS_ENV}={prefix}: reads of kv keys under it will fail");
            store.inject_read_faults(Some((vatchain_kernel::store::Cf::Kv, prefix.as_bytes())));
        }
    }
}
