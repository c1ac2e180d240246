// Package models holds Concord's domain types, their validation, the clinical
// rules tables and the one error type every layer speaks. It imports nothing
// outside the standard library.
package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Code is a stable, machine-readable error class. The API maps each code to
// one HTTP status and shows it to clients as the problem's "code".
type Code string

// The error codes. Keep this set small: clients branch on it.
const (
	CodeInvalid      Code = "invalid"
	CodeUnauthorized Code = "unauthorized"
	CodeForbidden    Code = "forbidden"
	CodeNotFound     Code = "not_found"
	CodeConflict     Code = "conflict"
	CodeRateLimited  Code = "rate_limited"
	CodeTooLarge     Code = "too_large"
	// CodePreconditionFailed: the client's If-Match names a version the
	// record no longer has (another device changed it); nothing was changed.
	CodePreconditionFailed Code = "precondition_failed"
	// CodePreconditionRequired: a client that asked for conditional writes
	// sent a write without If-Match; nothing was changed.
	CodePreconditionRequired Code = "precondition_required"
	// CodeUnavailable: the database is busy, full or unreachable; nothing
	// was changed and the same request may be tried again after
	// Error.RetryAfter.
	CodeUnavailable Code = "unavailable"
	CodeInternal    Code = "internal"
)

// FieldProblem names one invalid input field (a JSON path such as
// "schedule.times[1]") and what is wrong with it.
type FieldProblem struct {
	Field   string `json:"field"`
	Problem string `json:"problem"`
}

// Error is the error type shared by every layer. Message is safe to show to
// clients for every code but CodeInternal, whose details stay in Err.
type Error struct {
	Code    Code
	Message string
	Fields  []FieldProblem
	// RetryAfter is set on CodeRateLimited and CodeUnavailable errors: when
	// the caller may try again.
	RetryAfter time.Duration
	// Err is the underlying cause, kept for logs; never shown to clients.
	Err error
}

// Error implements the error interface.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Code))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Problem)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code and a formatted client-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, CodeInternal
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// IsCode reports whether err carries the code.
func IsCode(err error, code Code) bool { return ErrorCode(err) == code }

// Problems collects per-field problems while validating; its Err method
// returns nil when there were none, or one CodeInvalid error naming them all.
type Problems []FieldProblem

// Add records a problem with a field.
func (p *Problems) Add(field, format string, args ...any) {
	*p = append(*p, FieldProblem{Field: field, Problem: fmt.Sprintf(format, args...)})
}

// Merge records every problem of another validation, with its fields put
// under prefix (e.g. "schedule").
func (p *Problems) Merge(prefix string, err error) {
	if err == nil {
		return
	}
	var e *Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		p.Add(prefix, "%s", err.Error())
		return
	}
	for _, f := range e.Fields {
		name := f.Field
		if prefix != "" {
			name = prefix + "." + f.Field
		}
		*p = append(*p, FieldProblem{Field: name, Problem: f.Problem})
	}
}

// Err returns nil when no problem was recorded, or a CodeInvalid *Error.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	return &Error{Code: CodeInvalid, Message: "the request has invalid fields", Fields: p}
}

type requestIDKey struct{}

// WithRequestID returns a context carrying the request id, so logs and audit
// entries made while serving the request can name it.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id carried by ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
