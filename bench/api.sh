#!/usr/bin/env bash
# The REST API under load (issue 12): wrk (Debian's) against
# `GET /api/v1/assets?limit=100` with a bearer token, on a SQLite store of N (default
# 100,000) assets imported from bench/gen_inventory.py's CSV, and, in the same run,
# against `GET /healthz` (no auth, no store: the HTTP stack's floor). The same page is
# asked for over and over (identical answers within a second share one database read,
# crates/server/src/cache.rs), then a page at a random offset each time (every request
# reads the database and serialises anew). Prints requests/s and p50/p99 of each and the
# ratios to /healthz; wrk and the server share the machine's cores.
# Goal: >= 5,000 requests/s and p99 <= 50 ms on the assets page.
set -euo pipefail
N=${N:-100000}
SECONDS_EACH=${SECONDS_EACH:-15}
CONNECTIONS=${CONNECTIONS:-32}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/bench/out/api
mkdir -p "$OUT"
cd "$ROOT"
cargo build --release -q -p pumpguard
BIN=$ROOT/target/release/pumpguard
DB=sqlite://$OUT/api.db
rm -f "$OUT"/api.db*
python3 bench/gen_inventory.py "$N" > "$OUT/inventory.csv"
"$BIN" --db "$DB" assets import "$OUT/inventory.csv" >/dev/null 2>&1
echo "bench-password-0123" > "$OUT/pw"
"$BIN" --db "$DB" users add bench --role viewer --password-file "$OUT/pw" >/dev/null 2>&1
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" --db "$DB" serve --listen "127.0.0.1:$PORT" 2>"$OUT/serve.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
TOKEN=$(curl -sf -X POST "http://127.0.0.1:$PORT/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"username":"bench","password":"bench-password-0123"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
URL="http://127.0.0.1:$PORT/api/v1/assets?limit=100"
ITEMS=$(curl -sf -H "authorization: Bearer $TOKEN" "$URL" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["items"]), d["next"])')
echo "assets page: $ITEMS (items, next) of $N assets"

run() { # name url [header]
  local name=$1 url=$2; shift 2
  wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency "$@" "$url" > "$OUT/$name.txt"
  python3 - "$OUT/$name.txt" "$name" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
def ms(label):
    m = re.search(r"\s%s\s+([\d.]+)(us|ms|s)\b" % label, text)
    v = float(m.group(1)); return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(f"{sys.argv[2]:>12}: {rps:10.0f} requests/s  p50 {ms('50%'):7.2f} ms  p99 {ms('99%'):7.2f} ms  non-2xx {errors.group(1) if errors else 0}")
open(sys.argv[1] + ".rps", "w").write(str(rps))
PY
}
run healthz "http://127.0.0.1:$PORT/healthz"
run assets "$URL" -H "authorization: Bearer $TOKEN"
cat > "$OUT/random.lua" <<LUA
math.randomseed(7)
request = function()
  return wrk.format("GET", "/api/v1/assets?limit=100&offset=" .. math.random(0, $N - 100))
end
LUA
run random "$URL" -H "authorization: Bearer $TOKEN" -s "$OUT/random.lua"
python3 - "$OUT" <<'PY'
import sys
rps = lambda n: float(open(f"{sys.argv[1]}/{n}.txt.rps").read())
print(f"assets page / healthz: {rps('assets') / rps('healthz'):.2f}; random offsets / healthz: {rps('random') / rps('healthz'):.2f}")
PY
