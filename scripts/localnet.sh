#!/usr/bin/env bash
# A local network of validators on real CometBFT v0.38, all on loopback (README):
#   ./scripts/localnet.sh [start]   set-up (CometBFT included), build, init N validators
#                                   under $LOCALNET_DIR (once), start N `vatd start` and N
#                                   `cometbft start`, print each node's RPC; Ctrl-C stops all
#   ./scripts/localnet.sh stop      stop a network started in the background (LOCALNET_DETACH=1)
#   ./scripts/localnet.sh reset     stop it and delete $LOCALNET_DIR
# Settings: LOCALNET_DIR (default ./localnet), LOCALNET_VALIDATORS (4),
# LOCALNET_BASE_PORT (26656: node i uses BASE+100i p2p, +1 RPC, +2 ABCI),
# LOCALNET_BLOCK_MS (500), LOCALNET_DETACH=1 (start and return).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="${LOCALNET_DIR:-$PWD/localnet}"
N="${LOCALNET_VALIDATORS:-4}"
BASE="${LOCALNET_BASE_PORT:-26656}"
BLOCK_MS="${LOCALNET_BLOCK_MS:-500}"
PIDS="$DIR/pids"

stop() {
  [ -f "$PIDS" ] || return 0
  while read -r pid; do kill "$pid" 2>/dev/null || true; done < "$PIDS"
  sleep 1
  while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done < "$PIDS"
  rm -f "$PIDS"
  echo "localnet: stopped"
}

case "${1:-start}" in
  stop) stop; exit 0 ;;
  reset) stop; rm -rf "$DIR"; echo "localnet: removed $DIR"; exit 0 ;;
  start) ;;
  *) echo "usage: $0 [start|stop|reset]" >&2; exit 2 ;;
esac

./scripts/setup.sh
. scripts/build.sh
"${NODE_BUILD[@]}" --quiet
VATD="$(target_dir)/debug/vatd"
COMETBFT="$( (command -v go >/dev/null && go env GOPATH) || echo "$HOME/go")/bin/cometbft"

if [ -f "$PIDS" ]; then
  echo "localnet: already running (pids in $PIDS); run '$0 stop' first" >&2
  exit 1
fi
if [ ! -d "$DIR/node0/config" ]; then
  "$VATD" testnet init --validators "$N" --output "$DIR" --base-port "$BASE" \
    --block-time-ms "$BLOCK_MS"
fi
N=$(ls -d "$DIR"/node* | wc -l)

for ((i = 0; i < N; i++)); do
  home="$DIR/node$i"
  "$VATD" start --home "$home" >>"$home/vatd.log" 2>&1 &
  echo $! >>"$PIDS"
done
for ((i = 0; i < N; i++)); do
  home="$DIR/node$i"
  abci=$(sed -n 's/.*"abci_address": "tcp:\/\/\(.*\)".*/\1/p' "$home/config/vatd.json")
  for _ in $(seq 1 600); do
    (exec 3<>"/dev/tcp/${abci%:*}/${abci#*:}") 2>/dev/null && break
    sleep 0.1
  done
  "$COMETBFT" start --home "$home" >>"$home/cometbft.log" 2>&1 &
  echo $! >>"$PIDS"
done

echo
echo "localnet: $N validators running (logs: $DIR/node<i>/{vatd,cometbft}.log)"
for ((i = 0; i < N; i++)); do
  rpc=$(sed -n 's/^laddr = "tcp:\/\/\(127.0.0.1:[0-9]*\)"/\1/p' "$DIR/node$i/config/config.toml" | head -n 1)
  echo "  node$i  RPC http://$rpc  home $DIR/node$i"
done
rpc0=$(sed -n 's/^laddr = "tcp:\/\/\(127.0.0.1:[0-9]*\)"/\1/p' "$DIR/node0/config/config.toml" | head -n 1)
cat <<NEXT

Next steps (any node's RPC works; node0's key is in its home):
  $VATD query vat counter --node http://$rpc0
  $VATD tx --home $DIR/node0 --node http://$rpc0 swingset deliver counter increment '[1]'
  $VATD query data counter.count --node http://$rpc0
  curl -s http://$rpc0/status
NEXT

if [ "${LOCALNET_DETACH:-0}" = 1 ]; then
  echo "(detached: '$0 stop' stops it)"
  exit 0
fi
trap 'echo; stop; exit 0' INT TERM
echo "(Ctrl-C stops every node)"
wait
