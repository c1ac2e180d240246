package store

import (
	"context"
	"time"
)

// Erasure removes a person from the database when they delete their
// account. README "Deleting an account" is the table of what goes and
// what stays; this is its storage half.
type Erasure interface {
	// ErasePerson deletes what the database holds of the user userID (a
	// patient or a carer) and returns how many records of each kind (Kind) it
	// deleted (and, under KindFlagsClosed, closed).
	//
	// Deleted: the user; their sessions and refresh tokens (first, so
	// their tokens stop working as soon as it starts); their devices;
	// every reading (soft-deleted ones too), medication, dose and dose
	// plan of the patient; every notification to or about them, with its
	// outbox entry; the patient's care invitations; every care link with
	// them on either side; the patient's nomination; the patient's
	// report share links; the patient's flags
	// no pharmacist worked on (models.FlagWorkedOn) and their flag slots.
	//
	// Kept, with ids only (no name, e-mail or NHS number, which go with
	// the user): the access log (entries about or by them), the patient's
	// consent records, flags a pharmacist worked on (closed with
	// models.FlagClosedAccountDeleted if still live), and invitations of
	// other patients that they accepted as a carer.
	//
	// It is idempotent: a call that fails part-way leaves a database that
	// a second call finishes (SQLite does it all in one transaction). A
	// user who does not exist is not an error: what is left of them goes.
	ErasePerson(ctx context.Context, userID string, at time.Time) (map[string]int, error)
}

// KindFlagsClosed counts, in ErasePerson's result, the flags kept and
// closed.
const KindFlagsClosed Kind = "flags_closed"
