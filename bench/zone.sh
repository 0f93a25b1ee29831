#!/usr/bin/env bash
# bench/zone.sh: ptzone's zone pipeline beside Knot, BIND and ldns, at
# registry scale, in one run on one machine.
#
# A synthetic registry of N domains (default 2,850,000, which gives zone pt
# about 2,000,000 delegations) goes into PostgreSQL. Then, each one process
# measured for wall time, CPU time and peak RSS:
#   ptzone zone build --no-verify   registry to signed pt.zone (build + sign + write),
#                                   five times, taking turns with kzonesign
#   ptzone zone build               the same with the independent verification
#   kzonesign / dnssec-signzone / ldns-signzone   the unsigned pt.zone ptzone
#                                   wrote, signed the same way (ECDSA P-256,
#                                   KSK+ZSK, NSEC3 opt-out, 0 iterations, no salt)
#   ptzone zone verify / dnssec-verify            the signed pt.zone
#   ptzone zone publish             a full publication, then twice one after
#                                   1,000 domains changed (incremental)
#   BenchmarkPublishHeld            the same as the daemon runs it: one
#                                   process, its last publication in memory
# and prints the ratios the targets are stated in.
#
# ptzone runs with Go's soft memory limit, GOMEMLIMIT, as deployed
# (README, "Memory"): 1800MiB unless set; GOMEMLIMIT=off measures without.
#
# Usage: bench/zone.sh [N]; SKIP_LDNS=1 skips ldns-signzone (minutes, GBs).
n=${1:-${N:-2850000}}
export GOMEMLIMIT=${GOMEMLIMIT:-1800MiB}
. "$(dirname "$0")/lib.sh"
header zone
echo "$n domains; ptzone with GOMEMLIMIT=$GOMEMLIMIT" | tee -a "$report"
build_ptzone
for tool in kzonesign keymgr dnssec-signzone dnssec-keygen dnssec-verify ldns-signzone ldns-keygen psql bc; do
	command -v "$tool" >/dev/null || { echo "bench/zone.sh: $tool is missing (make test installs the DNS tools)" >&2; exit 2; }
done

"$ptzone" db generate --domains "$n" --seed 1 --output "$work/registry.jsonl"
postgres
export PTZONE_DATA_DIR="$work/data"
"$ptzone" db migrate --db "$dsn" >/dev/null
measure "import $n domains (postgres)" "$ptzone" db import --db "$dsn" "$work/registry.jsonl" >/dev/null
"$ptzone" keys generate --all >/dev/null
at=$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:%SZ)

echo | tee -a "$report"
"$ptzone" zone build --db "$dsn" --zone pt --assume-checked --unsigned --out "$work/unsigned" >/dev/null 2>&1

mkdir -p "$work/knot/db" "$work/knot/out"
cat >"$work/knot/knot.conf" <<CONF
server:
    listen: 127.0.0.1@53999
database:
    storage: $work/knot/db
policy:
  - id: pt
    algorithm: ecdsap256sha256
    nsec3: on
    nsec3-opt-out: on
    nsec3-iterations: 0
    nsec3-salt-length: 0
    signing-threads: $(nproc)
    rrsig-lifetime: 14d
    rrsig-refresh: 7d
zone:
  - domain: pt
    storage: $work/unsigned
    file: pt.zone
    dnssec-signing: on
    dnssec-policy: pt
CONF
# Keys made beforehand, as ptzone's are: key generation is not signing.
keymgr -c "$work/knot/knot.conf" pt. generate algorithm=ecdsap256sha256 ksk=yes zsk=no >/dev/null
keymgr -c "$work/knot/knot.conf" pt. generate algorithm=ecdsap256sha256 ksk=no zsk=yes >/dev/null

# One run of either moves by a second or more on a small shared machine
# (a slower spell can last a minute, several runs): ptzone's build and
# kzonesign take turns, TURNS runs each (default 5), and the ratio is of
# their medians.
turns=${TURNS:-5}
ours_runs=() knot_runs=()
for round in $(seq "$turns"); do
	rm -rf "$work/signed"
	measure "ptzone build+sign+write ($round)" "$ptzone" zone build --db "$dsn" --zone pt --assume-checked --now "$at" --no-verify --out "$work/signed"
	ours_runs+=("$last_wall")
	rm -rf "$work/knot/out" && mkdir -p "$work/knot/out"
	measure "kzonesign (Knot) ($round)" kzonesign -c "$work/knot/knot.conf" -o "$work/knot/out" pt. >/dev/null
	knot_runs+=("$last_wall")
done
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
ours=$(median "${ours_runs[@]}")
knot=$(median "${knot_runs[@]}")
grep -c . "$work/signed/pt.zone" | xargs printf '  %s records\n' | tee -a "$report"
measure "ptzone build+sign+verify+write" "$ptzone" zone build --db "$dsn" --zone pt --assume-checked --now "$at" --out "$work/verified"

mkdir -p "$work/bind" && (cd "$work/bind" && dnssec-keygen -q -a ECDSAP256SHA256 -f KSK pt. >/dev/null && dnssec-keygen -q -a ECDSAP256SHA256 pt. >/dev/null)
measure "dnssec-signzone (BIND)" dnssec-signzone -q -n "$(nproc)" -3 - -H 0 -A -x -S -K "$work/bind" -d "$work/bind" -o pt. -f "$work/bind/pt.signed" "$work/unsigned/pt.zone" >/dev/null
if [ -z "${SKIP_LDNS:-}" ]; then
	mkdir -p "$work/ldns"
	ksk=$(cd "$work/ldns" && ldns-keygen -a ECDSAP256SHA256 -k pt.)
	zsk=$(cd "$work/ldns" && ldns-keygen -a ECDSAP256SHA256 pt.)
	measure "ldns-signzone" ldns-signzone -n -p -t 0 -o pt. -f "$work/ldns/pt.signed" "$work/unsigned/pt.zone" "$work/ldns/$ksk" "$work/ldns/$zsk" >/dev/null
fi

echo | tee -a "$report"
measure "ptzone zone verify" "$ptzone" zone verify --now "$at" "$work/signed/pt.zone" >/dev/null
verify=$last_wall
measure "dnssec-verify (BIND)" dnssec-verify -o pt. "$work/signed/pt.zone" >/dev/null 2>&1
bindverify=$last_wall

echo | tee -a "$report"
rm -rf "$work/data/zones"
measure "ptzone zone publish (first, full)" "$ptzone" zone publish --db "$dsn" --assume-checked --now "$at" >/dev/null 2>"$work/publish.err"
sed 's/^/  /' "$work/publish.err" | tee -a "$report"
# Twice, 1,000 domains of pt change their nameservers; each publication
# goes on from the one before (the journal then holds two patches).
force=()
if [ "$n" -lt 300000 ]; then
	# 1,000 changes pass the guard's 1% only in a registry this large.
	force=(--force-by bench --reason "benchmark: 1,000 domains changed on purpose")
fi
for round in 1 2; do
	psql -q "$dsn" -c "UPDATE domains SET nameservers = ptz_make_nameservers(ARRAY['ns1.moved$round.example','ns2.moved$round.example'], ARRAY['','']), updated = now()
		WHERE id IN (SELECT id FROM domains WHERE zone = 'pt' AND status = 'active' ORDER BY id OFFSET $(( (round - 1) * 1000 )) LIMIT 1000)"
	later=$(date -u -d "+$((round + 1)) minutes" +%Y-%m-%dT%H:%M:%SZ)
	measure "ptzone zone publish (1,000 changed, $round)" "$ptzone" zone publish --db "$dsn" --assume-checked --now "$later" "${force[@]}" >"$work/publish.out" 2>"$work/publish.err"
	incremental=$last_wall
	grep -q '^pt: published serial [0-9]*, incremental' "$work/publish.out" || { echo "bench/zone.sh: the publication was not incremental:" >&2; cat "$work/publish.out" "$work/publish.err" >&2; exit 1; }
	sed 's/^/  /' "$work/publish.err" | tee -a "$report"
done

# The same, as the daemon publishes: one process publishing again and
# again, its last zones and states held in memory (BenchmarkPublishHeld;
# the registry change of each round is outside its timer).
echo | tee -a "$report"
held=n/a
if [ "$n" -ge 300000 ]; then
	# Its rounds move domains past the first 100,000 of pt, 1,000 at a
	# time, which the guard lets through in a registry this large only.
	(cd "$top" && go test -c -o "$work/ptzone.test" ./cmd/ptzone)
	export PTZONE_BENCH_DATABASE_URL=$dsn PTZONE_BENCH_DATA_DIR=$work/data
	measure "ptzone publishing, held in memory (1+5 rounds)" "$work/ptzone.test" -test.run '^$' -test.bench BenchmarkPublishHeld -test.benchtime 5x >"$work/held.out"
	grep '^BenchmarkPublishHeld' "$work/held.out" | sed 's/^/  /' | tee -a "$report"
	held=$(awk '/^BenchmarkPublishHeld/ {printf "%.2f", $3 / 1e9}' "$work/held.out")
else
	echo "(publishing held in memory: needs 300,000 domains or more)" | tee -a "$report"
fi

echo | tee -a "$report"
{
	printf 'build+sign+write / Knot:            %.2f (target <= 0.60; medians of %s: %s s / %s s)\n' "$(echo "$ours / $knot" | bc -l)" "$turns" "$ours" "$knot"
	printf 'ptzone verify / dnssec-verify:       %.2f (target <= 0.25)\n' "$(echo "$verify / $bindverify" | bc -l)"
	printf 'publish after 1,000 changes:         %.2f s CLI, %s s daemon (held in memory) (target <= 2)\n' "$incremental" "$held"
	printf 'peak RSS: see the MB column (target <= 2048 MB at 2,000,000 delegations)\n'
} | tee -a "$report"
echo "report: $report"
