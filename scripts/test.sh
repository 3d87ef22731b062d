#!/usr/bin/env bash
# The test command (README; .ci/run calls exactly this): set-up, build, every test (Rust,
# then the JS liveslots tests under Node, then cosmjs against `vatd dev`), then one closing
# line with the totals.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --all-targets "$@" 2>&1 | tee "$log"
node --test --test-reporter=tap kernel/tests/js/ 2>&1 | tee -a "$log"
# cosmjs against `vatd dev` (the binary the Rust tests just built).
(cd testnet/cosmjs && npm ci --no-audit --no-fund --loglevel=error)
target_dir=$(cd "${CARGO_TARGET_DIR:-target}" && pwd)
VATD="$target_dir/debug/vatd" node --test --test-reporter=tap testnet/cosmjs/ 2>&1 | tee -a "$log"
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
     /^# pass / { p += $3 } /^# fail / { f += $3 }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
