#!/usr/bin/env bash
# run.sh fuzzes every target of Concord's fuzz suite in turn, for N seconds
# each (default 10), and prints the executions per target.
#
#   fuzz/run.sh          # 10 s per target
#   fuzz/run.sh 30       # 30 s per target
#   fuzz/run.sh 60 FuzzReadingBody FuzzCursor   # only these targets
#   fuzz/run.sh 2000x    # 2000 new inputs per target (what CI runs)
#
# CI gives a count, not a time: a fixed amount of work takes longer on a
# slow machine instead of failing. A time budget that runs out while the
# fuzzer is still replaying its corpus (seconds on a loaded 2-core
# machine) makes the run fail with "context deadline exceeded".
#
# go test -fuzz takes one target per run. Rather than `go test -fuzz` per
# target (which links the coverage-instrumented test binary again each
# time), the script builds that binary once with `go test -c -fuzz` and runs
# it per target with -test.fuzz, in the package directory and with go
# test's own corpus cache, so it behaves as `go test -fuzz` would. A failing
# input is written by the fuzzer to fuzz/testdata/fuzz/<Target>/ and
# replayed by every later `go test ./fuzz`; the script goes on with the next target and
# exits 1 at the end if any target failed. Each run's full output is kept
# in $FUZZ_LOG_DIR (default: a new temporary directory). Set FUZZ_PARALLEL
# to change the number of fuzzing workers (default: GOMAXPROCS).
set -euo pipefail

budget="${1:-10}"
shift || true
if ! [[ "$budget" =~ ^[1-9][0-9]*x?$ ]]; then
	echo "usage: fuzz/run.sh [seconds per target, or Nx for N inputs per target] [FuzzTarget...]" >&2
	exit 2
fi
# -fuzztime takes a duration or a count of inputs ("500x").
fuzztime="$budget"
[[ "$budget" == *x ]] || fuzztime="${budget}s"

cd "$(dirname "$0")/.."
logs="${FUZZ_LOG_DIR:-$(mktemp -d -t concord-fuzz.XXXXXX)}"
mkdir -p "$logs"
parallel=()
if [ -n "${FUZZ_PARALLEL:-}" ]; then
	parallel=(-test.parallel "$FUZZ_PARALLEL")
fi

if [ "$#" -gt 0 ]; then
	targets=("$@")
else
	mapfile -t targets < <(go test -list '^Fuzz' ./fuzz | grep '^Fuzz')
fi

# The instrumented binary, built once (-fuzz selects instrumentation; the
# pattern only has to match a target). The corpus cache is the one
# `go test -fuzz` uses, so both ways of running share what they found.
bin="$logs/fuzz.test"
start=$(date +%s)
go test -c -fuzz '^Fuzz' -o "$bin" ./fuzz
echo "built the instrumented test binary in $(($(date +%s) - start)) s"
cache="$(go env GOCACHE)/fuzz/$(go list ./fuzz)"

printf '%-22s %8s %12s %10s %12s  %s\n' target seconds execs "execs/s(wall)" "new corpus" result
failed=0
for t in "${targets[@]}"; do
	log="$logs/$t.log"
	start=$(date +%s)
	if (cd fuzz && "$bin" -test.run '^$' -test.fuzz "^${t}\$" -test.fuzztime "$fuzztime" \
		-test.fuzzcachedir "$cache" -test.paniconexit0 -test.timeout 10m "${parallel[@]}") >"$log" 2>&1; then
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
	rate=$(( ${execs:-0} / (took > 0 ? took : 1) ))
	printf '%-22s %8s %12s %10s %12s  %s\n' "$t" "$took" "${execs:-?}" "$rate" "${newc:-?}" "$result"
done
echo "logs: $logs"
exit "$failed"
