#!/usr/bin/env bash
# The test command (README; .ci/run calls exactly this): set-up, build, every test.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo test --workspace --all-targets "$@"
