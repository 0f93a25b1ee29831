# bench/lib.sh: shared by the bench scripts (sourced, not run).
#
# Sets up $work (removed at exit, unless KEEP is set), builds $ptzone, starts a throwaway
# PostgreSQL cluster on a Unix socket in $work unless
# $PTZONE_BENCH_DATABASE_URL is set, and measures one process at a time.

set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d /tmp/ptzbench.XXXXXX)
results="$top/bench/results"
mkdir -p "$results"
pgbin=""

cleanup() {
	if [ -n "$pgbin" ] && [ -d "$work/pg/data" ]; then
		as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -m fast -w stop >/dev/null 2>&1 || true
	fi
	if [ -n "${KEEP:-}" ]; then
		echo "bench: kept $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

for tool in /usr/bin/time go; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install time)" >&2; exit 2; }
done

build_ptzone() {
	echo "building ptzone"
	(cd "$top" && go build -o "$work/ptzone" ./cmd/ptzone)
	ptzone="$work/ptzone"
}

# header NAME: starts the report file $report.
header() {
	report="$results/$1-$(date -u +%Y%m%dT%H%M%SZ).txt"
	{
		echo "bench/$1.sh $(date -u +%FT%TZ)"
		echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
		echo "go: $(go version | cut -d' ' -f3), commit: $(cd "$top" && git rev-parse --short HEAD 2>/dev/null || echo none)"
	} | tee "$report"
}

# measure LABEL CMD...: runs CMD (one process, no shell in between, so that
# the figures are the process's own) under /usr/bin/time and records wall
# seconds, CPU seconds (user + system) and peak RSS on fd 3 (the script's
# stdout) and in the report. The caller may redirect CMD's output. The
# wall seconds are left in $last_wall.
exec 3>&1
measure() {
	local label=$1
	shift
	local status=0
	/usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" || status=$?
	read -r wall user sys kb < <(tail -1 "$work/time")
	last_wall=$wall
	local note=""
	if [ "$status" != 0 ]; then note=" (exit status $status)"; fi
	printf '%-40s %8.2f s wall %8.2f s CPU %7d MB%s\n' "$label" "$wall" "$(echo "$user + $sys" | bc)" $((kb / 1024)) "$note" | tee -a "$report" >&3
}

# postgres: sets $dsn to an empty database.
postgres() {
	dsn=${PTZONE_BENCH_DATABASE_URL:-}
	if [ -n "$dsn" ]; then
		return
	fi
	pgbin=$(pg_config --bindir 2>/dev/null || true)
	[ -x "$pgbin/initdb" ] || pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
	[ -x "$pgbin/initdb" ] || { echo "bench: no PostgreSQL server binaries; install postgresql or set PTZONE_BENCH_DATABASE_URL" >&2; exit 2; }
	mkdir -p "$work/pg"
	chmod 755 "$work" "$work/pg"
	if [ "$(id -u)" = 0 ]; then chown postgres "$work/pg"; fi
	as_pg "$pgbin/initdb" -D "$work/pg/data" -U ptzone --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
	cat >>"$work/pg/data/postgresql.conf" <<-CONF
		listen_addresses = ''
		unix_socket_directories = '$work/pg'
		shared_buffers = 512MB
		max_wal_size = 4GB
	CONF
	as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w start >/dev/null
	as_pg "$pgbin/createdb" -h "$work/pg" -U ptzone registry
	dsn="postgres://ptzone@/registry?host=$work/pg"
}
