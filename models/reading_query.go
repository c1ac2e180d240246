package models

import "time"

// ReadingKey is a reading's position in the newest-first order of a
// patient's readings: by TakenAt, then by ID, both descending. Every
// reading has exactly one position, so a page that starts after a key
// neither repeats nor skips a reading, whatever is stored meanwhile.
type ReadingKey struct {
	TakenAt time.Time
	ID      string
}

// Key returns r's position in the newest-first order.
func (r Reading) Key() ReadingKey { return ReadingKey{TakenAt: r.TakenAt, ID: r.ID} }

// ReadingQuery selects one page of a patient's live (not deleted) readings,
// newest first.
type ReadingQuery struct {
	PatientID string
	// Type restricts the page to one type; "" means every type.
	Type ReadingType
	// From (inclusive) and To (exclusive) bound takenAt; zero means unbounded.
	From, To time.Time
	// After, when set, starts the page just after this position.
	After *ReadingKey
	// Limit is the most readings returned.
	Limit int
}
