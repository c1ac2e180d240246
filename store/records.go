package store

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/concord-health/concord/models"
)

// The records below are what the backends keep beside the models: state
// that only storage needs (a dose plan, an outbox entry, a flag slot, the
// query fields of a flag). Copier carries them as they are.

// DosePlan is how far one medication's doses have been planned: the
// fingerprint of what they were planned from and the end of the window.
type DosePlan struct {
	MedicationID string    `bson:"_id"`
	PatientID    string    `bson:"patientId"`
	Fingerprint  string    `bson:"fingerprint"`
	Through      time.Time `bson:"through"`
}

// OutboxEntry is a notification's live delivery state, kept while it is
// pending or being sent; the lease fields say who holds it while it is
// sent.
type OutboxEntry struct {
	ID            string                   `bson:"_id"`
	RecipientID   string                   `bson:"recipientId"`
	Kind          models.NotificationKind  `bson:"kind"`
	DueAt         time.Time                `bson:"dueAt"`
	State         models.NotificationState `bson:"state"`
	Attempts      int                      `bson:"attempts"`
	NextAttemptAt time.Time                `bson:"nextAttemptAt"`
	LeaseID       string                   `bson:"leaseId,omitempty"`
	LeaseUntil    *time.Time               `bson:"leaseUntil,omitempty"`
	ClaimedBy     string                   `bson:"claimedBy,omitempty"`
	LastError     string                   `bson:"lastError,omitempty"`
}

// EntryOf is the outbox entry a new pending notification starts with.
func EntryOf(n models.Notification) OutboxEntry {
	return OutboxEntry{ID: n.ID, RecipientID: n.RecipientID, Kind: n.Kind, DueAt: n.DueAt, State: models.NotificationPending,
		Attempts: n.Attempts, NextAttemptAt: n.NextAttemptAt}
}

// Apply copies the entry's delivery state (attempts, next attempt, last
// error) onto the record n.
func (e OutboxEntry) Apply(n *models.Notification) {
	n.Attempts, n.NextAttemptAt, n.LastError = e.Attempts, e.NextAttemptAt, e.LastError
}

// Claimed is what Claim returns for the claimed entries and their records:
// each entry's record (State "" if it is missing) with the entry's
// delivery state, by (nextAttemptAt, id).
func Claimed(entries []OutboxEntry, records []models.Notification) []models.Notification {
	byID := make(map[string]models.Notification, len(records))
	for _, r := range records {
		byID[r.ID] = r
	}
	out := make([]models.Notification, len(entries))
	for i, e := range entries {
		x, ok := byID[e.ID]
		if !ok {
			x = models.Notification{ID: e.ID, RecipientID: e.RecipientID, Kind: e.Kind, DueAt: e.DueAt}
		}
		e.Apply(&x)
		out[i] = x
	}
	slices.SortFunc(out, func(a, b models.Notification) int {
		return cmp.Or(a.NextAttemptAt.Compare(b.NextAttemptAt), strings.Compare(a.ID, b.ID))
	})
	return out
}

// FlagRecord is a flag as the backends keep it: the flag and two fields
// derived from it for their queries, set from the flag on every write.
type FlagRecord struct {
	models.Flag `bson:",inline"`
	// Live is models.LiveFlag(Status, FollowUpAt != nil): the flag holds
	// its rule's one place for the patient.
	Live bool `bson:"live"`
	// SeverityRank is Severity.Rank(), for the queue's order.
	SeverityRank int `bson:"severityRank"`
}

// FlagRecordOf is the record f is stored as.
func FlagRecordOf(f models.Flag) FlagRecord {
	return FlagRecord{Flag: f, Live: models.LiveFlag(f.Status, f.FollowUpAt != nil), SeverityRank: f.Severity.Rank()}
}

// FlagSlot remembers the latest seq of a rule's flags for a patient
// (id models.FlagSlotID). It is a hint: the flags themselves decide.
type FlagSlot struct {
	ID  string `bson:"_id"`
	Seq int    `bson:"seq"`
}

// EpisodeRecord is a service episode as the backends keep it: the episode
// and its place in the pharmacy's service queue, QueueAt: its NextDue, or
// NoDue when nothing is due (those come last), set on every write.
type EpisodeRecord struct {
	models.ServiceEpisode `bson:",inline"`
	QueueAt               time.Time `bson:"queueAt"`
}

// NoDue is the queue place of an episode with nothing due.
var NoDue = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// EpisodeRecordOf is the record of e as stored: times as Millis keeps
// them, and without what is worked out when it is read (states, names).
func EpisodeRecordOf(e models.ServiceEpisode) EpisodeRecord {
	e = AsStored(e)
	e.State = ""
	e.Stages = slices.Clone(e.Stages)
	for i := range e.Stages {
		e.Stages[i].State = ""
	}
	e.Consultations = slices.Clone(e.Consultations)
	for i := range e.Consultations {
		e.Consultations[i].ByName = ""
	}
	at := NoDue
	if e.NextDue != nil {
		at = *e.NextDue
	}
	return EpisodeRecord{ServiceEpisode: e, QueueAt: at}
}
