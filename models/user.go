package models

import (
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Role is what kind of user an account belongs to.
type Role string

// The roles. Patients and carers register themselves; pharmacists and
// admins are created by an admin.
const (
	RolePatient    Role = "patient"
	RoleCarer      Role = "carer"
	RolePharmacist Role = "pharmacist"
	RoleAdmin      Role = "admin"
	// RoleShareLink is never an account's role: it names, in the access
	// log, the actor of an access through a report share link (ActorID is
	// the link's id).
	RoleShareLink Role = "share_link"
)

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool {
	switch r {
	case RolePatient, RoleCarer, RolePharmacist, RoleAdmin:
		return true
	}
	return false
}

// Password rules (NCSC/OWASP: length over complexity).
const (
	MinPasswordLength = 10
	MaxPasswordLength = 256
)

// Defaults of a user's settings when they have not chosen their own.
const (
	DefaultFollowUpMinutes  = 30
	DefaultDoseGraceMinutes = 120
)

// User is an account. PasswordHash never leaves the server.
type User struct {
	ID    string `json:"id" bson:"_id"`
	Email string `json:"email" bson:"email"`
	// EmailKey is the e-mail's confusable skeleton (Unicode TR39), unique
	// among accounts so that no two addresses look alike; set by the
	// accounts service.
	EmailKey string `json:"-" bson:"emailKey,omitempty"`
	Name     string `json:"name" bson:"name"`
	Role     Role   `json:"role" bson:"role"`
	Timezone string `json:"timezone" bson:"timezone"`
	// Locale is the language Concord speaks to the user in (pushes and
	// notifications); unset is DefaultLocale.
	Locale      Locale      `json:"locale" bson:"locale,omitempty"`
	PharmacyID  string      `json:"pharmacyId,omitempty" bson:"pharmacyId,omitempty"`
	Preferences Preferences `json:"preferences" bson:"preferences"`
	// Targets are a patient's care-plan targets; they override the default
	// bands when readings are classified.
	Targets CarePlanTargets `json:"targets" bson:"targets"`
	// NHSNumber is a patient's NHS number as ten digits (ValidateNHSNumber),
	// "" when unknown; patients give it themselves, so it is not traced.
	NHSNumber         string    `json:"nhsNumber,omitempty" bson:"nhsNumber,omitempty"`
	PasswordHash      string    `json:"-" bson:"passwordHash"`
	PasswordChangedAt time.Time `json:"-" bson:"passwordChangedAt"`
	CreatedAt         time.Time `json:"createdAt" bson:"createdAt"`
	UpdatedAt         time.Time `json:"updatedAt" bson:"updatedAt"`
}

// Location returns the user's time zone, UTC if it is unset or unknown.
func (u User) Location() *time.Location {
	if loc, err := time.LoadLocation(u.Timezone); err == nil && u.Timezone != "" {
		return loc
	}
	return time.UTC
}

// FirstName is the part of the name a push may show: the first word.
func (u User) FirstName() string {
	if f := strings.Fields(u.Name); len(f) > 0 {
		return f[0]
	}
	return ""
}

// Preferences are a user's notification and dose settings.
type Preferences struct {
	// QuietHours delay non-urgent notifications (never dose reminders).
	QuietHours *QuietHours `json:"quietHours,omitempty" bson:"quietHours,omitempty"`
	// PushDetails opts in to medicine names and values in push payloads;
	// off by default, pushes carry no health data.
	PushDetails bool `json:"pushDetails" bson:"pushDetails"`
	// FollowUpMinutes after a dose's time a follow-up reminder is sent if the
	// dose is still not logged; nil means the default, 0 means none.
	FollowUpMinutes *int `json:"followUpMinutes,omitempty" bson:"followUpMinutes,omitempty"`
	// DoseGraceMinutes after a dose's time an unlogged dose becomes missed;
	// nil means the default.
	DoseGraceMinutes *int `json:"doseGraceMinutes,omitempty" bson:"doseGraceMinutes,omitempty"`
}

// FollowUp returns the follow-up delay (0: no follow-up).
func (p Preferences) FollowUp() time.Duration {
	if p.FollowUpMinutes == nil {
		return DefaultFollowUpMinutes * time.Minute
	}
	return time.Duration(*p.FollowUpMinutes) * time.Minute
}

// DoseGrace returns the grace period after which an unlogged dose is missed.
func (p Preferences) DoseGrace() time.Duration {
	if p.DoseGraceMinutes == nil {
		return DefaultDoseGraceMinutes * time.Minute
	}
	return time.Duration(*p.DoseGraceMinutes) * time.Minute
}

// QuietHours is a daily local-time window, e.g. 22:00–07:00.
type QuietHours struct {
	Start string `json:"start" bson:"start"`
	End   string `json:"end" bson:"end"`
}

// Validate checks the preferences, naming fields under "preferences".
func (p Preferences) Validate() error {
	var pr Problems
	if q := p.QuietHours; q != nil {
		if !IsClock(q.Start) {
			pr.Add("preferences.quietHours.start", "must be a 24-hour time HH:MM")
		}
		if !IsClock(q.End) {
			pr.Add("preferences.quietHours.end", "must be a 24-hour time HH:MM")
		}
		if q.Start == q.End && IsClock(q.Start) {
			pr.Add("preferences.quietHours.end", "must differ from start")
		}
	}
	if m := p.FollowUpMinutes; m != nil && (*m < 0 || *m > 240) {
		pr.Add("preferences.followUpMinutes", "must be between 0 and 240")
	}
	if m := p.DoseGraceMinutes; m != nil && (*m < 15 || *m > 720) {
		pr.Add("preferences.doseGraceMinutes", "must be between 15 and 720")
	}
	return pr.Err()
}

var clockRE = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

// IsClock reports whether s is a 24-hour local time "HH:MM".
func IsClock(s string) bool { return clockRE.MatchString(s) }

// NormalizeEmail trims and lower-cases an address and checks it is a plain
// addr-spec (no display name) with no invisible characters (controls,
// format characters such as zero-width spaces and joiners, soft hyphens,
// bidirectional marks). It returns the normalised address. Callers that
// take addresses from people NFC-normalise them first (services).
func NormalizeEmail(s string) (string, bool) {
	if !utf8.ValidString(s) {
		return "", false
	}
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || len(s) > 254 {
		return "", false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.IsSpace(r) {
			return "", false
		}
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || !strings.Contains(s[strings.LastIndexByte(s, '@'):], ".") {
		return "", false
	}
	return s, true
}

// ValidTimezone reports whether tz names an IANA time zone (not "Local").
func ValidTimezone(tz string) bool {
	if tz == "" || tz == "Local" {
		return false
	}
	_, err := time.LoadLocation(tz)
	return err == nil
}

// ValidatePassword checks the length rules.
func ValidatePassword(field, pw string, p *Problems) {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < MinPasswordLength:
		p.Add(field, "must be at least %d characters", MinPasswordLength)
	case len(pw) > MaxPasswordLength:
		p.Add(field, "must be at most %d bytes", MaxPasswordLength)
	}
}

// MaxNameLength is the longest display name (of a person or a pharmacy).
const MaxNameLength = 200

// ValidateName checks a display name: present, one line of plain text
// (TextProblem), at most MaxNameLength characters.
func ValidateName(field, name string, p *Problems) {
	if strings.TrimSpace(name) == "" {
		p.Add(field, "is required")
		return
	}
	ValidateText(field, strings.TrimSpace(name), MaxNameLength, false, p)
}

// Principal is who is calling: taken from a verified access token.
type Principal struct {
	UserID    string
	Role      Role
	SessionID string
}

// Session is one login: the family of refresh tokens that descend from it.
// Revoking it logs out every holder of any of its tokens.
type Session struct {
	ID            string     `bson:"_id"`
	UserID        string     `bson:"userId"`
	CreatedAt     time.Time  `bson:"createdAt"`
	RevokedAt     *time.Time `bson:"revokedAt,omitempty"`
	RevokedReason string     `bson:"revokedReason,omitempty"`
}

// RefreshToken is the stored form of an opaque refresh token: only its hash.
type RefreshToken struct {
	Hash      string     `bson:"_id"`
	SessionID string     `bson:"sessionId"`
	UserID    string     `bson:"userId"`
	CreatedAt time.Time  `bson:"createdAt"`
	ExpiresAt time.Time  `bson:"expiresAt"`
	SpentAt   *time.Time `bson:"spentAt,omitempty"`
}
