package models

import "time"

// NextUpdatedAt is the updatedAt of a record's next version: now, or one
// millisecond after prev when now is not later. A record's updatedAt is its
// version (the ETag a client names in If-Match, and its place in the change
// feed), so every write that changes a record must give it a later one.
func NextUpdatedAt(prev, now time.Time) time.Time {
	now = Instant(now)
	if prev = Instant(prev); !now.After(prev) {
		return prev.Add(time.Millisecond)
	}
	return now
}

// StaleVersion is the error of a write whose If-Match names a version the
// record no longer has.
func StaleVersion(what string) *Error {
	return Errorf(CodePreconditionFailed, "the %s was changed since this version was read; read it again and retry", what)
}
