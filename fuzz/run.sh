#!/usr/bin/env bash
# run.sh fuzzes every target of Concord's fuzz suite in turn, for N seconds
# each (default 10), and prints the executions per target.
#
#   fuzz/run.sh          # 10 s per target
#   fuzz/run.sh 30       # 30 s per target
#   fuzz/run.sh 60 FuzzReadingBody FuzzCursor   # only these targets
#
# go test -fuzz takes one target per run, so each target is its own
# `go test -run '^$' -fuzz '^FuzzX$' -fuzztime Ns ./fuzz`. A failing input
# is written by the fuzzer to fuzz/testdata/fuzz/<Target>/ and replayed by
# every later `go test ./fuzz`; the script goes on with the next target and
# exits 1 at the end if any target failed. Each run's full output is kept
# in $FUZZ_LOG_DIR (default: a new temporary directory). Set FUZZ_PARALLEL
# to change the number of fuzzing workers (default: GOMAXPROCS).
set -euo pipefail

seconds="${1:-10}"
shift || true
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
	echo "usage: fuzz/run.sh [seconds per target] [FuzzTarget...]" >&2
	exit 2
fi

cd "$(dirname "$0")/.."
logs="${FUZZ_LOG_DIR:-$(mktemp -d -t concord-fuzz.XXXXXX)}"
mkdir -p "$logs"
parallel=()
if [ -n "${FUZZ_PARALLEL:-}" ]; then
	parallel=(-parallel "$FUZZ_PARALLEL")
fi

if [ "$#" -gt 0 ]; then
	targets=("$@")
else
	mapfile -t targets < <(go test -list '^Fuzz' ./fuzz | grep '^Fuzz')
fi

printf '%-22s %8s %12s %10s %12s  %s\n' target seconds execs "execs/s" "new corpus" result
failed=0
for t in "${targets[@]}"; do
	log="$logs/$t.log"
	start=$(date +%s)
	if go test -run '^$' -fuzz "^${t}\$" -fuzztime "${seconds}s" "${parallel[@]}" ./fuzz >"$log" 2>&1; then
		result=ok
	else
		result="FAIL ($(grep -m1 -o 'testdata/fuzz/[^ ]*' "$log" || echo "see $log"))"
		failed=1
	fi
	took=$(($(date +%s) - start))
	# The coordinator's last status line holds the totals.
	last=$(grep -E '^fuzz: elapsed: .*execs: ' "$log" | tail -1 || true)
	execs=$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")
	newc=$(sed -nE 's/.*new interesting: ([0-9]+).*/\1/p' <<<"$last")
	rate=$(( ${execs:-0} / seconds ))
	printf '%-22s %8s %12s %10s %12s  %s\n' "$t" "$took" "${execs:-?}" "$rate" "${newc:-?}" "$result"
done
echo "logs: $logs"
exit "$failed"
