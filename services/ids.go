package services

import "github.com/google/uuid"

// newID returns a new record id: a UUIDv7, which begins with its time, so
// that records created one after another sit side by side in the stores'
// id indexes instead of at random places (a batch of 500 readings then
// writes a few index pages, not 500). Clients creating records offline are
// asked to send UUIDv7s too (api/openapi.yaml); any UUID is accepted.
// Account ids stay random (v4): they are shown to carers and pharmacists,
// and need not tell when someone signed up.
func newID() string { return uuid.Must(uuid.NewV7()).String() }
