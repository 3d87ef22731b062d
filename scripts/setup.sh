#!/usr/bin/env bash
# Installs what a fresh machine lacks to build Vatchain, then returns. Idempotent.
#   - libclang: RocksDB's build (librocksdb-sys) runs bindgen, which loads libclang.
#   - node: runs the liveslots JavaScript tests (kernel/tests/js).
#   - python3: runs scripts/module_cycles.py (no import cycles between modules).
#   - CometBFT (pinned, built by `go install` into Go's bin directory): the localnet tests
#     and scripts/localnet.sh run the real consensus engine.
set -euo pipefail

have_libclang() {
  # bindgen looks for libclang.so in the usual LLVM locations.
  ls /usr/lib/llvm-*/lib/libclang.so* /usr/lib/x86_64-linux-gnu/libclang*.so* >/dev/null 2>&1
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "setup: need root to run: $*" >&2; return 1; fi
}

if ! have_libclang; then
  echo "setup: installing libclang-dev (needed by RocksDB's bindgen)..."
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libclang-dev >/dev/null
fi

if ! command -v node >/dev/null; then
  echo "setup: installing Node.js (runs the JS liveslots tests)..."
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs >/dev/null
fi

if ! command -v python3 >/dev/null; then
  echo "setup: installing python3 (runs the module-cycle check)..."
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 >/dev/null
fi

if ! command -v cargo >/dev/null; then
  echo "setup: cargo is not on PATH; install the Rust toolchain (rustup) first" >&2
  exit 1
fi

# CometBFT, pinned. `go install` builds it in a few minutes once; Go caches it after.
COMETBFT_VERSION=v0.38.25
GOBIN_DIR="$( (command -v go >/dev/null && go env GOPATH) || echo "$HOME/go")/bin"
if [ "$("$GOBIN_DIR/cometbft" version 2>/dev/null)" != "${COMETBFT_VERSION#v}" ]; then
  if ! command -v go >/dev/null; then
    echo "setup: Go is needed to install CometBFT $COMETBFT_VERSION (https://go.dev/dl)" >&2
    exit 1
  fi
  echo "setup: installing CometBFT $COMETBFT_VERSION (go install, a few minutes once)..."
  go install "github.com/cometbft/cometbft/cmd/cometbft@$COMETBFT_VERSION"
fi
