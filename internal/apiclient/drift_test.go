package apiclient_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

// TestClientInStepWithDocument fails when api/openapi.yaml changed after
// the client was generated: openapi.sha256, written by go generate beside
// client.gen.go, must be the document's hash.
func TestClientInStepWithDocument(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("openapi.sha256")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(doc)
	if got := hex.EncodeToString(sum[:]); got != strings.TrimSpace(string(want)) {
		t.Errorf("api/openapi.yaml changed since the client was generated (hash %s, generated from %s): run go generate ./internal/apiclient",
			got, strings.TrimSpace(string(want)))
	}
}
