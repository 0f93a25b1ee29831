#!/usr/bin/env bash
# bench/soak.sh: the daemon under a steady load of queries while
# publications swap its zones, for longer than make test runs it
# (daemon.TestSoak, without the race detector).
#
# The sample registry plus DOMAINS synthetic domains (default 20,000) in
# the embedded store; ptzone's daemon serves the .pt zones on loopback,
# rate limiting off. For SECONDS (default 240) workers send QPS direct
# queries a second (default 1,000; WORKERS of them, default 8, UDP and
# TCP, DO set: referrals, glue, DS, NXDOMAIN, apex data), and unbound,
# validating from a test root, resolves a sample PROBE_QPS times a second
# (default 20), while PUBLICATIONS publications (default 60, every fourth
# a full build) swap the zones, the registry changed between them. Every
# response's records must come from one published version, not older
# than the one served when its query left; any timeout, SERVFAIL, bogus
# answer or mixed or stale response is an error.
#
# Figures: domains, publications (full and incremental, median and
# longest), direct queries sent and answered, the answers' kinds,
# unbound's queries, secure answers, and the error counts, the live heap
# at the start and at the end, goroutines; the test process's wall time,
# CPU time and peak RSS.
#
# Usage: bench/soak.sh [SECONDS]
seconds=${1:-${SECONDS_SOAK:-240}}
domains=${DOMAINS:-20000}
publications=${PUBLICATIONS:-60}
qps=${QPS:-1000}
workers=${WORKERS:-8}
probe_qps=${PROBE_QPS:-20}
. "$(dirname "$0")/lib.sh"
header soak
command -v unbound >/dev/null || [ -x /usr/sbin/unbound ] || { echo "bench/soak.sh: unbound is missing (apt-get install unbound)" >&2; exit 2; }
echo "$seconds s; $domains synthetic domains, $publications publications, $qps queries/s from $workers workers, $probe_qps/s to unbound" | tee -a "$report"
echo "building the daemon's tests"
(cd "$top" && go test -c -o "$work/daemon.test" ./daemon)
export PTZONE_SOAK_DURATION=$seconds PTZONE_SOAK_DOMAINS=$domains PTZONE_SOAK_PUBLICATIONS=$publications \
	PTZONE_SOAK_QPS=$qps PTZONE_SOAK_WORKERS=$workers PTZONE_SOAK_PROBE_QPS=$probe_qps
status=0
cd "$top/daemon" # the test finds the repository from its directory
measure "TestSoak (the whole test process)" "$work/daemon.test" -test.run '^TestSoak$' -test.v -test.count=1 -test.timeout 2h >"$work/soak.log" 2>&1
sed -n 's/^ *soak_test\.go:[0-9]*: soak: /  /p' "$work/soak.log" | tee -a "$report"
grep -E '^(--- |FAIL|ok|PASS)' "$work/soak.log" | tee -a "$report"
if grep -q '^--- FAIL' "$work/soak.log"; then
	grep -A30 'soak errors:' "$work/soak.log" | head -40 | tee -a "$report"
	status=1
fi
echo "report: $report"
exit "$status"
