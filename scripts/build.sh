# Sourced by node.sh and test.sh: the builds they share, so that every one of them reuses
# the single RocksDB build (librocksdb-sys compiles ~10 minutes of C++ on 2 cores).
#
# All of them build with --workspace and the dev profile: dependency features then resolve
# the same way, and the C++ build of the test command is the node command's too. The
# legacy-v2 feature (the old binary, the v2 kernel's tests) is switched on per invocation:
# it only adds code to our own crates, so it leaves RocksDB's build alone as well.

# The node command's build (`vatd`).
NODE_BUILD=(cargo build --workspace --bin vatd)
# The determinism harness's command (`vatchain-soak`), which test.sh runs for its figures.
SOAK_BUILD=(cargo build --workspace --bin vatchain-soak)
# The old binary of the v2->v3 remediation (`vatd-legacy-v2`), for the end-to-end test.
LEGACY_BUILD=(cargo build --workspace --features vatchain-app/legacy-v2 --bin vatd-legacy-v2)
# The tests that need the v2 kernel itself (they make v2 DBs), and the remediation bench's
# smoke run.
LEGACY_TESTS=(cargo test --workspace --features vatchain-kernel/legacy-v2
  --test v2_dbs_are_remediated_once --bench remediation)

target_dir() { (cd "${CARGO_TARGET_DIR:-target}" 2>/dev/null && pwd) || echo "$PWD/target"; }

# Runs a cargo command and fails the moment it starts compiling librocksdb-sys again: a
# second RocksDB build means some invocation resolved dependency features differently
# (see the build-override note in Cargo.toml), and every user would pay for it.
no_rocksdb_rebuild() {
  local out
  out=$(mktemp)
  if ! "$@" -v 2>&1 | tee "$out" | awk '
      /Compiling librocksdb-sys|Running .*build\/librocksdb-sys-.*build-script-build/ {
        print "ERROR: this build compiles librocksdb-sys again: " $0; bad = 1; exit 1 }
      END { exit bad }' >&2; then
    tail -n 20 "$out" >&2
    rm -f "$out"
    echo "FAILED: '$*' rebuilt RocksDB (or failed); it must reuse the test build's" >&2
    return 1
  fi
  rm -f "$out"
}
