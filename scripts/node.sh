#!/usr/bin/env bash
# The node command (README): set-up, build, then run `vatd` with the given arguments
# (default: `dev`, a one-node dev chain with the demo counter vat and CometBFT's RPC on
# 127.0.0.1:26657; `start` is the ABCI server for a real CometBFT).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
. scripts/build.sh
if [ $# -eq 0 ]; then set -- dev; fi
"${NODE_BUILD[@]}" --quiet
exec "$(target_dir)/debug/vatd" "$@"
