#!/usr/bin/env bash
# bench/serve.sh: queries a second, ptzone's authoritative server beside
# Knot DNS, on the same signed zone, in one run on one machine.
#
# A synthetic registry of N domains (default 100,000) is imported into the
# embedded store, and zone pt built and signed. ptzone serve (rate limiting
# off, as Knot's default) and knotd serve that file on loopback ports, and
# dnsperf sends each the same resolver-like mix for SECONDS (default 10),
# with DO set: referrals (60%, with NSEC3 proofs or DS), names below
# delegations (15%), NXDOMAIN (10%), DS (10%), apex data (5%). dnsperf
# shares the machine's cores with the server it measures: compare the
# ratio, not the figures.
#
# Usage: bench/serve.sh [N]
n=${1:-${N:-100000}}
seconds=${SECONDS_EACH:-10}
. "$(dirname "$0")/lib.sh"
header serve
for tool in dnsperf knotd kdig python3; do
	command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "bench/serve.sh: $tool is missing (apt-get install dnsperf knot knot-dnsutils)" >&2; exit 2; }
done
build_ptzone
export PTZONE_DATA_DIR="$work/data"
"$ptzone" db generate --domains "$n" --seed 1 --output "$work/registry.jsonl" >/dev/null
"$ptzone" db import "$work/registry.jsonl" >/dev/null
"$ptzone" keys generate --all >/dev/null
"$ptzone" zone build --zone pt --assume-checked --out "$work/zone" >/dev/null
echo "$n domains; zone pt: $(grep -c . "$work/zone/pt.zone") records" | tee -a "$report"

awk '$4 == "NS" && $1 != "pt." { print $1 }' "$work/zone/pt.zone" | sort -u >"$work/delegations"
python3 - "$work/delegations" "$work/queries" <<'EOF'
import random, sys
random.seed(1)
d = [l.strip() for l in open(sys.argv[1])]
out = []
for i in range(200000):
    r = random.random()
    if r < 0.60: out.append(f"{random.choice(d)} A")
    elif r < 0.75: out.append(f"www.{random.choice(d)} AAAA")
    elif r < 0.85: out.append(f"nx{random.randrange(10**9)}.pt. A")
    elif r < 0.95: out.append(f"{random.choice(d)} DS")
    else: out.append(random.choice(["pt. SOA", "pt. DNSKEY", "pt. NS"]))
open(sys.argv[2], "w").write("\n".join(out) + "\n")
EOF

ours=127.0.0.1:$((20000 + RANDOM % 10000))
theirs_port=$((30000 + RANDOM % 10000))
printf '[server.rate_limit]\noff = true\n' >"$work/serve.toml"
"$ptzone" serve --config "$work/serve.toml" --listen "$ours" --zone "pt=$work/zone/pt.zone" >"$work/serve.log" 2>&1 &
serve_pid=$!
mkdir -p "$work/knot/db"
cat >"$work/knot/knot.conf" <<EOF
server:
    rundir: "$work/knot"
    listen: 127.0.0.1@$theirs_port
database:
    storage: "$work/knot/db"
template:
  - id: default
    storage: "$work/zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
zone:
  - domain: pt
    file: pt.zone
log:
  - target: stderr
    any: warning
EOF
knotd -c "$work/knot/knot.conf" >"$work/knot.log" 2>&1 &
knot_pid=$!
trap 'kill $serve_pid $knot_pid 2>/dev/null; cleanup' EXIT
for i in $(seq 100); do
	kdig @127.0.0.1 -p "${ours#*:}" pt. SOA +short +time=1 >/dev/null 2>&1 &&
		kdig @127.0.0.1 -p "$theirs_port" pt. SOA +short +time=1 >/dev/null 2>&1 && break
	sleep 0.2
done

qps() { # qps LABEL PORT
	local out
	out=$(dnsperf -s 127.0.0.1 -p "$2" -d "$work/queries" -l "$seconds" -c 8 -q 200 -D 2>&1)
	local q lost
	q=$(echo "$out" | awk '/Queries per second/ { printf "%.0f", $4 }')
	lost=$(echo "$out" | awk '/Queries lost/ { print $3, $4 }')
	printf '%-24s %8s queries/s, lost %s\n' "$1" "$q" "$lost" | tee -a "$report" >&2
	echo "$q"
}
a=$(qps "ptzone serve" "${ours#*:}")
b=$(qps "knotd" "$theirs_port")
a2=$(qps "ptzone serve (again)" "${ours#*:}")
b2=$(qps "knotd (again)" "$theirs_port")
printf 'ptzone / Knot: %.2f (best of two each: %s / %s queries/s)\n' \
	"$(echo "$(( a > a2 ? a : a2 )) / $(( b > b2 ? b : b2 ))" | bc -l)" "$(( a > a2 ? a : a2 ))" "$(( b > b2 ? b : b2 ))" | tee -a "$report"
echo "report: $report"
