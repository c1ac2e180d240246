package models

import "time"

// FeedKind names what a change-feed entry carries.
type FeedKind string

// The kinds of record in a patient's change feed, in the order the feed
// sorts entries of the same instant.
const (
	FeedCareLink     FeedKind = "careLink"
	FeedDose         FeedKind = "dose"
	FeedMedication   FeedKind = "medication"
	FeedNotification FeedKind = "notification"
	FeedReading      FeedKind = "reading"
)

// Tombstone records that a record was deleted outright (a pending dose
// removed when its medicine's schedule changed), so the change feed can
// tell devices that hold it.
type Tombstone struct {
	Kind      FeedKind  `json:"kind" bson:"kind"`
	ID        string    `json:"id" bson:"_id"`
	PatientID string    `json:"patientId" bson:"patientId"`
	DeletedAt time.Time `json:"deletedAt" bson:"deletedAt"`
}

// ChangeKey is a place in a change feed: the records after it are those
// with a later (updatedAt, id), ids compared byte-wise. The stores' Changed
// methods return them by (updatedAt, id) from an index on (patient,
// updatedAt, id): a device that was away for a week reads only what
// changed, never a scan.
type ChangeKey struct {
	At time.Time
	ID string
}
