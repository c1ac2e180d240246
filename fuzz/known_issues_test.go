package fuzz_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"unicode"
)

// knownInput is one input the fuzzer found that breaks an invariant
// because of a defect not fixed yet. Its file stays in
// testdata/fuzz/<target>/ as the fuzzer wrote it, so that go test ./fuzz
// replays it once the defect is fixed and this entry is deleted.
type knownInput struct {
	target string
	// sum is inputSum of the input's values.
	sum string
	// note says what breaks, where the input file is, and what fixes it.
	note string
}

// knownInputs are the failing inputs kept under testdata/fuzz and not yet
// fixed.
var knownInputs = []knownInput{}

// skipKnownInput skips (or, with CONCORD_FUZZ_STRICT=1, runs) an input
// listed in knownInputs. Call it first in the fuzz function.
func skipKnownInput(t *testing.T, target string, values ...any) {
	t.Helper()
	sum := inputSum(values...)
	for _, k := range knownInputs {
		if k.target == target && k.sum == sum {
			if os.Getenv("CONCORD_FUZZ_STRICT") != "" {
				t.Logf("known failing input %s (%s), run because CONCORD_FUZZ_STRICT is set", sum, k.note)
				return
			}
			t.Skipf("KNOWN FAILING INPUT %s: %s", sum, k.note)
		}
	}
}

// inputSum identifies a fuzz input by the values it passes: the first 16
// hex digits of the SHA-256 of their %#v.
func inputSum(values ...any) string {
	h := sha256.New()
	for _, v := range values {
		fmt.Fprintf(h, "%#v\x00", v)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// duplicateKey reports the first JSON object in body (at any depth) that
// holds two keys encoding/json would decode into the same field: equal, or
// equal under Unicode case folding (which is how encoding/json matches
// names). It reads as far as body is well-formed.
func duplicateKey(body []byte) (string, bool) {
	type frame struct {
		object, wantKey bool
		keys            map[string]string
	}
	var stack []*frame
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, &frame{object: true, wantKey: true, keys: map[string]string{}})
			case '[':
				stack = append(stack, &frame{})
			default:
				if len(stack) > 0 {
					stack = stack[:len(stack)-1]
				}
				valueDone()
			}
		case string:
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
				top := stack[n-1]
				k := foldKey(v)
				if prev, seen := top.keys[k]; seen {
					return fmt.Sprintf("%q and %q", prev, v), true
				}
				top.keys[k] = v
				top.wantKey = false
				continue
			}
			valueDone()
		default:
			valueDone()
		}
	}
}

// foldKey maps s to a key shared by every string strings.EqualFold holds
// equal to it: each rune replaced by the smallest of its fold orbit.
func foldKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}
