package models

import "time"

// Instant is an instant a client sends (a reading's or a dose's takenAt, a
// follow-up date) as Concord records it: in UTC, to the millisecond. The
// same instant sent again, however finely written, is then the same value,
// so a retried upload compares equal to the record it made.
func Instant(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }
