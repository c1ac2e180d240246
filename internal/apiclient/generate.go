// Package apiclient is a Go client of the Concord API generated from
// api/openapi.yaml by oapi-codegen, a mainstream generator, without hand
// edits. Its test runs a phone app's core flow through it against the real
// HTTP stack: the proof that the document is one a client can be
// generated from. Regenerate after changing the document (a test fails
// until then: openapi.sha256 is the hash of the document generated from):
//
//	go generate ./internal/apiclient
package apiclient

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2 -config oapi-codegen.yaml ../../api/openapi.yaml
//go:generate go run ./spechash ../../api/openapi.yaml openapi.sha256
