package models

import "time"

// The consultation report's window and its share links' limits.
const (
	// DefaultReportDays is the report's window when none is asked for:
	// four weeks, one usual repeat-prescription cycle.
	DefaultReportDays = 28
	// MinReportDays and MaxReportDays bound the window: a week (enough
	// for a NICE home blood pressure series) to three months.
	MinReportDays = 7
	MaxReportDays = 90
	// MaxReportLinkDays is the longest a share link lives: two weeks.
	MaxReportLinkDays = 14
)

// The statuses of a report share link, computed when it is shown
// (ReportLink.StatusAt).
const (
	ReportLinkActive  = "active"
	ReportLinkExpired = "expired"
	ReportLinkRevoked = "revoked"
)

// ReportLink lets whoever holds its token fetch the patient's consultation
// report without signing in, until it expires or the patient revokes it.
// It is stored under the hash of its token (the token itself is shown
// once, when the link is made); ID is its public id.
type ReportLink struct {
	TokenHash string     `json:"-" bson:"_id"`
	ID        string     `json:"id" bson:"publicId"`
	PatientID string     `json:"patientId" bson:"patientId"`
	Days      int        `json:"days" bson:"days"`
	CreatedAt time.Time  `json:"createdAt" bson:"createdAt"`
	ExpiresAt time.Time  `json:"expiresAt" bson:"expiresAt"`
	RevokedAt *time.Time `json:"revokedAt,omitempty" bson:"revokedAt,omitempty"`
	// Status is computed when the link is shown (see StatusAt).
	Status string `json:"status" bson:"-"`
}

// StatusAt returns the link's status at a moment.
func (l ReportLink) StatusAt(now time.Time) string {
	switch {
	case l.RevokedAt != nil:
		return ReportLinkRevoked
	case !now.Before(l.ExpiresAt):
		return ReportLinkExpired
	}
	return ReportLinkActive
}
