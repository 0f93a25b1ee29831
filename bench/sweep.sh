#!/usr/bin/env bash
# bench/sweep.sh: one delegation sweep of a synthetic registry against the
# lab's simulated name servers on loopback (delegation.BenchmarkSweep).
#
# N domains (default 100,000) in the embedded store, hosted by N_ADDRS/2
# providers of two name servers each, every one on a lab address of its own
# (default 2,000 addresses), every answer LATENCY_MS late (default 20), at
# the default pace of 20 queries a second per address. The lab counts what
# each address receives per second: the benchmark fails if any exceeds 20.
# Figures: seconds for the sweep, domains a second, queries per domain, the
# highest count any address saw in one second, and the process's peak RSS.
#
# Usage: bench/sweep.sh [N]
n=${1:-${N:-100000}}
. "$(dirname "$0")/lib.sh"
header sweep
echo "$n domains, ${N_ADDRS:-2000} addresses, ${LATENCY_MS:-20} ms latency" | tee -a "$report"
(cd "$top" && PTZONE_SWEEP_DOMAINS=$n PTZONE_SWEEP_ADDRS=${N_ADDRS:-2000} PTZONE_SWEEP_LATENCY_MS=${LATENCY_MS:-20} \
	/usr/bin/time -f "peak RSS %M KiB, wall %e s" go test -run '^$' -bench BenchmarkSweep -benchtime 1x -benchmem -timeout 30m ./delegation) 2>&1 |
	grep -E '^(Benchmark|peak RSS|FAIL|---|\s+sweep_bench)' | tee -a "$report"
