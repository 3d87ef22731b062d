#!/usr/bin/env bash
# The node command (README): set-up, build, then run `vatd` with the given arguments
# (default: `start`, an ABCI server for CometBFT on tcp://127.0.0.1:26658).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
if [ $# -eq 0 ]; then set -- start; fi
exec cargo run --quiet -p vatchain-app --bin vatd -- "$@"
