#!/usr/bin/env bash
# bench/store.sh: the registry store at registry scale, on both backends.
#
# Generates N synthetic .pt-shaped domains (default 2,000,000), imports them
# into PostgreSQL and into SQLite with "ptzone db import", then streams them
# back with "ptzone db export" from one snapshot: the publishable candidates
# of zone pt, and the whole registry. Each step is one process measured by
# /usr/bin/time: wall seconds and peak RSS of that process. The export
# includes JSON encoding, so it bounds the bare stream from above.
#
# PostgreSQL: $PTZONE_BENCH_DATABASE_URL (an empty database the role owns),
# or else a throwaway cluster started here from the installed server
# binaries, on a Unix socket in the work directory, stopped at exit.
#
# Usage: bench/store.sh [N]      (results also go to bench/results/)
set -euo pipefail

n=${1:-${N:-2000000}}
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/ptzbench.XXXXXX)
results="$top/bench/results"
mkdir -p "$results"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
report="$results/store-$stamp.txt"

pgbin=""
cleanup() {
	if [ -n "$pgbin" ] && [ -d "$work/pg/data" ]; then
		as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -m fast -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

for tool in /usr/bin/time go; do
	command -v "$tool" >/dev/null || { echo "bench/store.sh: $tool is missing (apt-get install time)" >&2; exit 2; }
done

echo "building ptzone"
(cd "$top" && go build -o "$work/ptzone" ./cmd/ptzone)
ptzone="$work/ptzone"

# measure LABEL CMD...: runs CMD (one process, no shell in between, so
# that the peak RSS is ptzone's own) under /usr/bin/time and records the
# figures on fd 3, the script's standard output, and in the report; the
# caller may redirect CMD's output.
exec 3>&1
measure() {
	local label=$1
	shift
	/usr/bin/time -f "%e %M" -o "$work/time" "$@"
	read -r secs kb <"$work/time"
	printf '%-34s %8.1f s %8d MB\n' "$label" "$secs" $((kb / 1024)) | tee -a "$report" >&3
}

{
	echo "bench/store.sh $(date -u +%FT%TZ), $n domains"
	echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
	echo "go: $(go version | cut -d' ' -f3), commit: $(cd "$top" && git rev-parse --short HEAD 2>/dev/null || echo none)"
	echo
} | tee "$report"

measure "generate $n" "$ptzone" db generate --domains "$n" --seed 1 --output "$work/registry.jsonl"

dsn=${PTZONE_BENCH_DATABASE_URL:-}
if [ -z "$dsn" ]; then
	pgbin=$(pg_config --bindir 2>/dev/null || true)
	[ -x "$pgbin/initdb" ] || pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
	[ -x "$pgbin/initdb" ] || { echo "bench/store.sh: no PostgreSQL server binaries; install postgresql or set PTZONE_BENCH_DATABASE_URL" >&2; exit 2; }
	mkdir -p "$work/pg"
	chmod 755 "$work" "$work/pg"
	[ "$(id -u)" = 0 ] && chown postgres "$work/pg"
	as_pg "$pgbin/initdb" -D "$work/pg/data" -U ptzone --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
	cat >>"$work/pg/data/postgresql.conf" <<-EOF
		listen_addresses = ''
		unix_socket_directories = '$work/pg'
		shared_buffers = 512MB
		max_wal_size = 4GB
	EOF
	as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w start >/dev/null
	as_pg "$pgbin/createdb" -h "$work/pg" -U ptzone registry
	dsn="postgres://ptzone@/registry?host=$work/pg"
fi

echo | tee -a "$report"
"$ptzone" db migrate --db "$dsn" >/dev/null
measure "postgres: import" "$ptzone" db import --db "$dsn" "$work/registry.jsonl"
measure "postgres: stream pt candidates" "$ptzone" db export --db "$dsn" --zone pt --status active >/dev/null 2>"$work/count"
echo "  $(cat "$work/count")" | tee -a "$report"
measure "postgres: stream all" "$ptzone" db export --db "$dsn" >"$work/pg-export.jsonl" 2>"$work/count"
echo "  $(cat "$work/count")" | tee -a "$report"

echo | tee -a "$report"
lite="sqlite:$work/registry.db"
measure "sqlite: import" "$ptzone" db import --db "$lite" "$work/registry.jsonl"
measure "sqlite: stream pt candidates" "$ptzone" db export --db "$lite" --zone pt --status active >/dev/null 2>"$work/count"
echo "  $(cat "$work/count")" | tee -a "$report"
measure "sqlite: stream all" "$ptzone" db export --db "$lite" >"$work/sqlite-export.jsonl" 2>"$work/count"
echo "  $(cat "$work/count")" | tee -a "$report"

echo | tee -a "$report"
if cmp -s "$work/pg-export.jsonl" "$work/sqlite-export.jsonl"; then
	echo "the two backends exported identical files" | tee -a "$report"
else
	echo "the two backends exported DIFFERENT files" | tee -a "$report"
	exit 1
fi
echo "report: $report"
