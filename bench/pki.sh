#!/usr/bin/env bash
# Certificate issuance from CSRs (issue 10): pumpguard in process (the CA library, and
# issued + recorded + audited in SQLite as `pki issue` and EST do), pumpguard over EST
# (serve --tls, python keep-alive clients enrolling base64 DER CSRs), and pumpguard's CLI
# (`pki issue`, one process per certificate) against `openssl x509 -req`, one process
# per certificate, signing the same N openssl-made P-256 CSRs with a P-256 CA. Prints
# certificates/s for each and the ratios to openssl.
set -euo pipefail
N=${N:-400}
THREADS=${THREADS:-2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/bench/out/pki
rm -rf "$OUT"
mkdir -p "$OUT/csr"
cd "$ROOT"
cargo build --release -q -p pumpguard
cargo build --release -q -p pumpguard-server --example issue_throughput
BIN=$ROOT/target/release/pumpguard

for i in $(seq -w 1 "$N"); do
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
    -out "$OUT/csr/PUMP-$i.csr" -subj "/CN=PUMP-$i" 2>/dev/null
  openssl req -in "$OUT/csr/PUMP-$i.csr" -outform DER | base64 > "$OUT/csr/PUMP-$i.b64"
done

# The peer: openssl as a CA, the same key type and the same extensions.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$OUT/ca.key" \
  -out "$OUT/ca.pem" -subj "/O=Bench Hospital/CN=Bench Device Issuing CA" -days 3650 2>/dev/null
cat > "$OUT/ext.cnf" <<'CNF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:http://pki.example/pki/crl
CNF
start=$(date +%s.%N)
for f in "$OUT"/csr/*.csr; do
  openssl x509 -req -in "$f" -CA "$OUT/ca.pem" -CAkey "$OUT/ca.key" -CAcreateserial \
    -days 825 -extfile "$OUT/ext.cnf" -out "$OUT/openssl.pem" 2>/dev/null
done
end=$(date +%s.%N)
openssl_rate=$(python3 -c "print(round($N / ($end - $start)))")

inproc=$("$ROOT/target/release/examples/issue_throughput" "$OUT/csr")
library_rate=$(echo "$inproc" | awk '/^library/ {sub("/s", "", $2); print $2}')
recorded_rate=$(echo "$inproc" | awk '/^recorded/ {sub("/s", "", $2); print $2}')

export PUMPGUARD_DB=sqlite://$OUT/pki.db PUMPGUARD_CA_PASSPHRASE=bench-passphrase
"$BIN" pki init --name "Bench Hospital" 2>/dev/null
"$BIN" pki est-user add bench --password bench-password 2>/dev/null
"$BIN" pki ca-cert --out "$OUT/chain.pem"
start=$(date +%s.%N)
for f in "$OUT"/csr/*.csr; do
  "$BIN" pki issue --csr "$f" --profile pump --out "$OUT/cli.pem" 2>/dev/null
done
end=$(date +%s.%N)
cli_rate=$(python3 -c "print(round($N / ($end - $start)))")

"$BIN" serve --tls --listen 127.0.0.1:0 2> "$OUT/serve.log" &
SERVE=$!
trap 'kill $SERVE 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "serving on" "$OUT/serve.log" && break; sleep 0.1; done
BASE=$(sed -n 's/.*serving on \([^ ]*\).*/\1/p' "$OUT/serve.log")
est_rate=$(python3 bench/est_client.py "$BASE" "$OUT/chain.pem" bench bench-password "$THREADS" "$OUT"/csr/*.b64)
kill $SERVE

python3 - "$N" "$openssl_rate" "$library_rate" "$recorded_rate" "$est_rate" "$cli_rate" <<'PY'
import sys
n, openssl, library, recorded, est, cli = map(float, sys.argv[1:])
print(f"{n:.0f} CSRs: openssl x509 -req {openssl:,.0f}/s (a process per certificate)")
for name, rate in [("pumpguard in process (library)", library),
                   ("pumpguard in process (recorded, audited)", recorded),
                   ("pumpguard over EST (HTTPS, Basic)", est),
                   ("pumpguard pki issue (a process per certificate)", cli)]:
    print(f"{name}: {rate:,.0f}/s, ratio {rate / openssl:.1f}")
PY
