#!/usr/bin/env bash
# The infusion-order gateway (issue 11): orders per second and the latency it adds, with
# mutual TLS on both sides and every order checked against the library, against the same
# senders talking plain MLLP straight to a stand-in pump server, on loopback, in one run
# (crates/gateway/examples/throughput.rs; senders, gateway and pump server share the
# machine's cores). Prints orders/s, p50/p99 of both and the added latency, for each
# number of concurrent sender connections in CONNECTIONS. Goal: >= 20,000 orders/s and
# <= 1 ms p99 added.
set -euo pipefail
ORDERS=${ORDERS:-100000}
CONNECTIONS=${CONNECTIONS:-"4 8 16"}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
cargo build --release -q -p pumpguard-gateway --example throughput
for c in $CONNECTIONS; do
  "$ROOT/target/release/examples/throughput" "$ORDERS" "$c"
done
