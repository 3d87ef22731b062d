#!/usr/bin/env bash
# The test command (README; .ci/run calls exactly this): set-up, one build of everything,
# every test (Rust, the v2 kernel's migration tests, the JS liveslots tests under Node, a
# check that the upstream-made bundles are what @endo/bundle-source makes, then cosmjs against `vatd dev` and against a 4-validator localnet on real CometBFT), then
# one closing line with the totals.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
. scripts/build.sh
# No import cycle between any crate's modules (docs/ARCHITECTURE.md).
./scripts/module_cycles.py kernel/src app/src bridge/src
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Everything the tests need. The first build compiles RocksDB's C++; every later build
# below must reuse it (no_rocksdb_rebuild fails the run otherwise).
cargo test --workspace --all-targets --no-run "$@"
no_rocksdb_rebuild "${LEGACY_BUILD[@]}"
no_rocksdb_rebuild "${LEGACY_TESTS[@]}" --no-run
no_rocksdb_rebuild "${NODE_BUILD[@]}"
no_rocksdb_rebuild "${SOAK_BUILD[@]}"
cargo test --workspace --all-targets "$@" 2>&1 | tee "$log"
"${LEGACY_TESTS[@]}" 2>&1 | tee -a "$log"
# The endoZipBase64 bundles the kernel's tests install are what the real
# @endo/bundle-source (npm, pinned by the lock file) makes from their sources. (Before the
# Node tests: patterns.test.mjs compares our patterns with the upstream packages this
# installs.)
(cd kernel/tests/fixtures/endo && npm ci --no-audit --no-fund --loglevel=error &&
  node make-bundles.mjs --check)
node --test --test-reporter=tap kernel/tests/js/ 2>&1 | tee -a "$log"
# The determinism harness as a command, a short run: its figures go to the log (the Rust
# test nodes_agree_through_random_blocks_and_kills asserts on another run).
"$(target_dir)/debug/vatchain-soak" --nodes 4 --blocks 30 --progress-every 0
# cosmjs against `vatd dev` (the binary the Rust tests just built).
(cd testnet/cosmjs && npm ci --no-audit --no-fund --loglevel=error)
VATD="$(target_dir)/debug/vatd" node --test --test-reporter=tap testnet/cosmjs/ 2>&1 | tee -a "$log"
# cosmjs again, against node0 of a 4-validator localnet on real CometBFT.
net=$(mktemp -d)
trap 'LOCALNET_DIR="$net" ./scripts/localnet.sh reset >/dev/null; rm -f "$log"' EXIT
LOCALNET_DIR="$net" LOCALNET_DETACH=1 LOCALNET_BLOCK_MS=200 \
  LOCALNET_BASE_PORT=$((20000 + RANDOM % 40 * 1000)) ./scripts/localnet.sh >/dev/null
VATCHAIN_LOCALNET_DIR="$net" VATD="$(target_dir)/debug/vatd" \
  node --test --test-reporter=tap testnet/cosmjs/ 2>&1 | tee -a "$log"
LOCALNET_DIR="$net" ./scripts/localnet.sh stop
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
     /^# pass / { p += $3 } /^# fail / { f += $3 }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
