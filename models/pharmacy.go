package models

import (
	"regexp"
	"strings"
	"time"
)

// Pharmacy is a community pharmacy, identified nationally by its NHS ODS
// (Organisation Data Service) code. Pharmacists belong to one.
type Pharmacy struct {
	ID      string `json:"id" bson:"_id"`
	ODSCode string `json:"odsCode" bson:"odsCode"`
	Name    string `json:"name" bson:"name"`
	// Postcode is normalised: upper case, one space before the inward code.
	Postcode string `json:"postcode" bson:"postcode"`
	// PostcodeKey is the postcode without its space, so searches by prefix
	// match however the user spaces it.
	PostcodeKey string    `json:"-" bson:"postcodeKey"`
	CreatedAt   time.Time `json:"createdAt" bson:"createdAt"`
}

// odsCodeRE: ODS codes are upper-case letters and digits starting with a
// letter; community pharmacies have five characters ("FA123"), other
// organisations three to ten.
var odsCodeRE = regexp.MustCompile(`^[A-Z][A-Z0-9]{2,9}$`)

// NormalizeODSCode trims and upper-cases an ODS code and reports whether it
// has the ODS shape.
func NormalizeODSCode(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	return s, odsCodeRE.MatchString(s) && strings.ContainsAny(s, "0123456789")
}

// postcodeRE is the shape of a UK postcode written without its space: an
// outward code (area letters, district digit and an optional letter or
// digit) and an inward code (a digit and two letters). GIR 0AA is the one
// historic exception.
var postcodeRE = regexp.MustCompile(`^([A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}|GIR0AA)$`)

// NormalizePostcode returns a UK postcode in its canonical form ("SW1A 1AA":
// upper case, one space before the last three characters) and whether it is
// well formed.
func NormalizePostcode(s string) (string, bool) {
	key := PostcodeKey(s)
	if !postcodeRE.MatchString(key) {
		return "", false
	}
	return key[:len(key)-3] + " " + key[len(key)-3:], true
}

// PostcodeKey is a postcode (or the start of one) upper-cased with every
// space removed: the form prefix searches compare.
func PostcodeKey(s string) string {
	return strings.ToUpper(strings.Join(strings.Fields(s), ""))
}

// NewPharmacy validates the fields an admin gives and returns the pharmacy
// in canonical form (id and creation time are the caller's). Errors:
// invalid, naming each bad field.
func NewPharmacy(odsCode, name, postcode string) (Pharmacy, error) {
	var p Problems
	ods, ok := NormalizeODSCode(odsCode)
	if !ok {
		p.Add("odsCode", "must be an NHS ODS code: 3 to 10 letters and digits starting with a letter, such as FA123")
	}
	ValidateName("name", name, &p)
	pc, ok := NormalizePostcode(postcode)
	if !ok {
		p.Add("postcode", "must be a UK postcode such as SW1A 1AA")
	}
	if err := p.Err(); err != nil {
		return Pharmacy{}, err
	}
	return Pharmacy{ODSCode: ods, Name: strings.TrimSpace(name), Postcode: pc, PostcodeKey: PostcodeKey(pc)}, nil
}

// PharmacyConsentVersion names the wording of the consent a patient gives
// when nominating a pharmacy; each consent record keeps the version the
// patient agreed to. Change the version whenever PharmacyConsentText changes.
const PharmacyConsentVersion = "2026-01"

// PharmacyConsentText is the statement a patient agrees to (version
// PharmacyConsentVersion).
const PharmacyConsentText = "I agree that pharmacists of the pharmacy I nominate may see my readings, " +
	"medicines, doses, adherence and summary in Concord, and that Concord may flag my care for their review. " +
	"I can change or withdraw this at any time, and it takes effect at once."

// Consent end reasons.
const (
	// ConsentWithdrawn: the patient withdrew consent.
	ConsentWithdrawn = "withdrawn"
	// ConsentChanged: the patient nominated another pharmacy.
	ConsentChanged = "changed"
	// ConsentSuperseded: a concurrent nomination won; this one never took effect.
	ConsentSuperseded = "superseded"
)

// Consent is one grant of a patient's consent to share with a pharmacy,
// kept for ever as history: who gave it, when, to which pharmacy, under
// which wording, and when and why it ended.
type Consent struct {
	ID          string     `json:"id" bson:"_id"`
	PatientID   string     `json:"patientId" bson:"patientId"`
	PharmacyID  string     `json:"pharmacyId" bson:"pharmacyId"`
	GrantedBy   string     `json:"grantedBy" bson:"grantedBy"`
	GrantedAt   time.Time  `json:"grantedAt" bson:"grantedAt"`
	TextVersion string     `json:"textVersion" bson:"textVersion"`
	WithdrawnAt *time.Time `json:"withdrawnAt,omitempty" bson:"withdrawnAt,omitempty"`
	EndReason   string     `json:"endReason,omitempty" bson:"endReason,omitempty"`
}

// Nomination is a patient's current pharmacy: the one record the access
// policy reads (its key is the patient's id). It exists only while consent
// stands.
type Nomination struct {
	PatientID  string    `json:"patientId" bson:"_id"`
	PharmacyID string    `json:"pharmacyId" bson:"pharmacyId"`
	ConsentID  string    `json:"consentId" bson:"consentId"`
	GrantedAt  time.Time `json:"grantedAt" bson:"grantedAt"`
}
