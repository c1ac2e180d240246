// Package fuzz holds Concord's fuzz suite: Go native fuzz targets
// (testing.F) that throw malformed, hostile and random input at the request
// decoder through the real Fiber app, at reading validation and banding, at
// medication schedules and dose planning, at list cursors and at the time
// parameters of queries. It has no non-test code; this file only names the
// package.
//
// Every target states its invariants in its doc comment (never a 5xx, never
// a panic, every 4xx a problem+json with a code, every 2xx stored and read
// back, planned doses in order and in their window, and so on).
//
// In CI the targets run as ordinary tests over their seed corpus (the f.Add
// seeds and any inputs kept under testdata/fuzz/<Target>/), which takes a
// few seconds:
//
//	go test ./fuzz
//
// To fuzz for real, run one target at a time (go test -fuzz takes a single
// target), or every target in turn for N seconds each with run.sh:
//
//	go test -run '^$' -fuzz '^FuzzReadingBody$' -fuzztime 5m ./fuzz
//	fuzz/run.sh 60
//
// When the fuzzer finds a failing input it writes it to
// testdata/fuzz/<Target>/<hash>; from then on go test ./fuzz replays it.
// Keep it there, and fix the code it breaks.
//
// An input kept under testdata/fuzz that breaks an invariant nobody has
// fixed yet may be listed in known_issues_test.go (knownInputs) so that CI
// stays green while it is fixed; it is skipped with a "KNOWN FAILING INPUT"
// message, never silently, and CONCORD_FUZZ_STRICT=1 runs it. The list is
// empty: the duplicate-key and invalid-UTF-8 defects the suite first found
// are fixed, and their invariants fail the suite again if they come back.
package fuzz
