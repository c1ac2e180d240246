// Command spechash writes the SHA-256 (hex) of the OpenAPI document the
// client was generated from, so that a test can tell when the document
// changed and the client was not generated again. Run by go generate:
//
//	spechash ../../api/openapi.yaml openapi.sha256
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: spechash DOCUMENT OUTPUT")
		os.Exit(2)
	}
	doc, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sum := sha256.Sum256(doc)
	if err := os.WriteFile(os.Args[2], []byte(hex.EncodeToString(sum[:])+"\n"), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
