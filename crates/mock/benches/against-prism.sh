#!/usr/bin/env bash
# GET /payouts/{id} served by rafiki-mock and by Prism on the same spec, on
# this machine, in one run: wrk (2 threads, 32 connections) against each in
# turn, ROUNDS times, so both meet the same machine load. The figures go
# into docs/performance.md with the commit they were taken at.
#
# Needs wrk (Debian: apt-get install wrk) and Node.js with npx; Prism
# 5.16 is fetched by npx on first use. Run from the workspace root:
#   bash crates/mock/benches/against-prism.sh [ROUNDS] [SECONDS]
# The mock logs as it does by default (RUST_LOG unset, one line a request)
# into a file, and its journal is on, as a team runs it.
set -euo pipefail

rounds=${1:-2}
seconds=${2:-10}
key=sk_test_rafiki_mock
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

for tool in wrk npx curl; do
    command -v "$tool" >/dev/null || { echo "against-prism: $tool is not installed" >&2; exit 2; }
done

cargo build --release --quiet -p rafiki-mock
./target/release/rafiki-mock --port 0 >"$work/mock.out" 2>"$work/mock.log" &
pids+=($!)
until grep -q 'serving' "$work/mock.out"; do sleep 0.1; done
mock=$(sed -n 's/^rafiki-mock serving //p' "$work/mock.out")

# Prism serves the spec's paths without the /v1 of its server URL.
prism_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
${PRISM:-npx --yes @stoplight/prism-cli@5.16} mock spec/openapi.yaml -h 127.0.0.1 -p "$prism_port" >"$work/prism.log" 2>&1 &
pids+=($!)
until curl -s -o /dev/null "http://127.0.0.1:$prism_port/wallets" -H "Authorization: Bearer $key"; do sleep 0.5; done

# One real payout on the mock, so its GET is the one a client makes.
payout='{"amount": {"value": "2500.00", "currency": "KES"},
  "payment_account": {"type": "MOBILE_MONEY", "country": "KE",
    "holder": {"type": "INDIVIDUAL", "name": "Achieng Otieno"},
    "mobile_money": {"number": "+254712345678", "operator": "SAFARICOM"}},
  "sender": {"type": "BUSINESS", "name": "Duka Supplies Ltd",
    "address": {"line_1": "12 Moi Avenue", "city": "Nairobi", "postal_code": "00100", "country": "KE"}}}'
id=$(curl -s "$mock/payouts" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -H 'X-Idempotency-Key: against-prism-1' -d "$payout" | grep -o 'pyt-[0-9A-Za-z]*' | head -n 1)

measure() { # NAME URL: prints a line, leaves the rate in $rate
    wrk -t2 -c32 -d"${seconds}s" --latency -H "Authorization: Bearer $key" "$2" >"$work/wrk.txt"
    rate=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
    avg=$(awk '$1 == "Latency" {print $2; exit}' "$work/wrk.txt")
    non2xx=$(awk '/Non-2xx/ {print $5}' "$work/wrk.txt")
    printf 'round %s %-6s %10s req/s  avg %8s  p99 %8s  non-2xx %s\n' "$round" "$1" "$rate" "$avg" "$p99" "${non2xx:-0}"
}

echo "rafiki-mock $mock, Prism http://127.0.0.1:$prism_port, GET /payouts/$id, $rounds rounds of ${seconds}s"
for round in $(seq 1 "$rounds"); do
    measure mock "$mock/payouts/$id"
    m=$rate
    measure prism "http://127.0.0.1:$prism_port/payouts/$id"
    python3 -c "print(f'round $round: mock/prism = {$m / $rate:.1f}x')"
done
echo "mock log lines: $(wc -l <"$work/mock.log")"
