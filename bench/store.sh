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
n=${1:-${N:-2000000}}
. "$(dirname "$0")/lib.sh"
header store
echo "$n domains" | tee -a "$report"
build_ptzone

measure "generate $n" "$ptzone" db generate --domains "$n" --seed 1 --output "$work/registry.jsonl"
postgres

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
