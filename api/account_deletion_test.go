package api_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
)

// deletionNHSNumber is in the 999 range, never issued to a patient.
const deletionNHSNumber = "9991111115"

// remnant is one stored record that mentions a person.
type remnant struct {
	kind store.Kind
	json string
}

// mentions dumps every record of every kind (the copier's export, so on
// either backend) and returns those whose stored form contains any of
// needles.
func (h *harness) mentions(t *testing.T, needles ...string) []remnant {
	t.Helper()
	var out []remnant
	for _, kind := range store.Kinds {
		err := h.store.Export(t.Context(), kind, 500, func(records []any) error {
			for _, r := range records {
				// The stored form: BSON names every stored field (JSON
				// leaves some out, such as a device's user).
				b, err := bson.MarshalExtJSON(r, false, false)
				if err != nil {
					return err
				}
				for _, n := range needles {
					if strings.Contains(string(b), n) {
						out = append(out, remnant{kind, string(b)})
						break
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("export %s: %v", kind, err)
		}
	}
	return out
}

// kindsOf counts remnants by kind.
func kindsOf(rs []remnant) map[store.Kind]int {
	m := map[store.Kind]int{}
	for _, r := range rs {
		m[r.kind]++
	}
	return m
}

// TestDeleteAccountErasesThePatient builds a patient with something in
// every kind of record (readings live and deleted, a medicine with stock
// and doses, a device, a carer and a pending invitation, a nominated
// pharmacy, a flag a pharmacist worked on and one no one touched,
// notifications to and about them), deletes the account, and checks that
// what remains is exactly README's table: the access log, the consent
// record and the worked-on flag (closed), by id only; that another patient
// sharing the carer and the pharmacy keeps everything; that tokens stop at
// once; and that the e-mail can register again.
func TestDeleteAccountErasesThePatient(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := t.Context()
	admin := h.firstAdmin(t)
	pharmacy := h.newPharmacy(t, admin, "FD001", "Delta Pharmacy", "SW1A 1AA")
	pharmacist := h.newPharmacist(t, admin, "ph-d@example.org", pharmacy)
	carer := h.register(t, "carer-d@example.org", "carer")
	other := h.register(t, "other-d@example.org", "patient")
	zeb := h.register(t, "zebedee@example.org", "patient")

	if r := h.do(t, "PATCH", "/v1/me", zeb.Access, map[string]any{"name": "Zebedee Quintrell", "nhsNumber": "999 111 1115"}); r.status != http.StatusOK || r.json(t)["nhsNumber"] != deletionNHSNumber {
		t.Fatalf("profile: %d %s", r.status, r.body)
	}
	for _, p := range []account{zeb, other} {
		h.nominate(t, p, pharmacy)
		h.linkCarer(t, p, carer, models.ScopeReadingAlerts, models.ScopeMissedDoseAlerts, models.ScopeViewReadings)
		stock := 30.0
		h.addMedicine(t, p, "Ramipril", &stock)
	}
	h.invite(t, zeb, models.ScopeViewSummary) // still pending
	h.reportLink(t, zeb, 28, 14)              // a share link of the consultation report
	if r := h.do(t, "POST", "/v1/me/devices", zeb.Access, map[string]any{"token": "zeb-device-token-0123456789", "platform": "android"}); r.status != http.StatusCreated {
		t.Fatalf("device: %d %s", r.status, r.body)
	}
	reading := func(p account, sys, dia int) string {
		r := h.do(t, "POST", "/v1/patients/me/readings", p.Access, map[string]any{"type": "blood_pressure", "unit": "mm[Hg]",
			"systolic": sys, "diastolic": dia, "takenAt": h.clock.Now().Add(-time.Minute).Format(time.RFC3339)})
		if r.status != http.StatusCreated {
			t.Fatalf("reading: %d %s", r.status, r.body)
		}
		return r.json(t)["id"].(string)
	}
	reading(other, 190, 125) // severe: a flag and a carer alert about the other patient
	reading(zeb, 128, 80)
	gone := reading(zeb, 130, 82)
	if r := h.do(t, "DELETE", "/v1/patients/me/readings/"+gone, zeb.Access, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete reading: %d %s", r.status, r.body)
	}
	reading(zeb, 190, 125) // severe: a flag, and an alert to the carer about Zebedee

	// The pharmacist claims Zebedee's severe-reading flag: it becomes part
	// of the pharmacy's record.
	page := decodeInto[flagPageJSON](t, h.do(t, "GET", "/v1/pharmacy/flags", pharmacist.Access, nil))
	var worked string
	for _, f := range page.Items {
		if f.PatientID == zeb.ID {
			worked = f.ID
		}
	}
	if worked == "" {
		t.Fatalf("no flag for Zebedee in the queue: %+v", page.Items)
	}
	if r := h.do(t, "POST", "/v1/pharmacy/flags/"+url.PathEscape(worked)+"/claim", pharmacist.Access, nil); r.status != http.StatusOK {
		t.Fatalf("claim: %d %s", r.status, r.body)
	}
	// Three days of missed doses: a missed-streak flag no one touches, and
	// alerts to the carer.
	h.later(t, 3*24*time.Hour+61*time.Minute, &zeb, &other, &carer, &pharmacist)
	h.missDoses(t, zeb.ID)
	h.missDoses(t, other.ID)
	if _, _, err := h.store.Notifications().Enqueue(ctx, models.Notification{ID: "test:zeb-inbox", RecipientID: zeb.ID, PatientID: zeb.ID,
		Kind: models.NotificationKind("dose_reminder"), Title: "Time for your medicines", DueAt: h.clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	before := kindsOf(h.mentions(t, zeb.ID))
	for _, k := range []store.Kind{store.KindUsers, store.KindSessions, store.KindRefreshTokens, store.KindReadings, store.KindMedications,
		store.KindDoses, store.KindDosePlans, store.KindNotifications, store.KindOutbox, store.KindDevices, store.KindInvitations,
		store.KindLinks, store.KindNominations, store.KindConsents, store.KindAudit, store.KindFlags, store.KindFlagSlots,
		store.KindReportLinks} {
		if before[k] == 0 {
			t.Errorf("the set-up left nothing of Zebedee in %s: the test would not show it erased", k)
		}
	}
	if before[store.KindFlags] < 2 {
		t.Errorf("Zebedee has %d flags, want a worked-on one and an untouched one", before[store.KindFlags])
	}

	// Refused: no password, a wrong one, a pharmacist.
	if r := h.do(t, "DELETE", "/v1/me", zeb.Access, map[string]any{}); r.status != http.StatusBadRequest || !slices.Contains(r.fields(t), "password") {
		t.Errorf("no password: %d %s", r.status, r.body)
	}
	if r := h.do(t, "DELETE", "/v1/me", zeb.Access, map[string]any{"password": "not my password"}); r.status != http.StatusUnauthorized || !slices.Contains(r.fields(t), "password") {
		t.Errorf("wrong password: %d %s", r.status, r.body)
	}
	if r := h.do(t, "DELETE", "/v1/me", pharmacist.Access, map[string]any{"password": "pharmacist password"}); r.status != http.StatusForbidden {
		t.Errorf("pharmacist: %d %s", r.status, r.body)
	}
	if after := kindsOf(h.mentions(t, zeb.ID)); after[store.KindReadings] != before[store.KindReadings] {
		t.Fatalf("refused deletions erased something: %v, was %v", after, before)
	}

	if r := h.do(t, "DELETE", "/v1/me", zeb.Access, map[string]any{"password": "correct horse battery"}); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}

	// Nothing names Zebedee any more; what carries the id is the table's.
	if rs := h.mentions(t, "zebedee@example.org", "Zebedee", deletionNHSNumber, "zeb-device-token"); len(rs) > 0 {
		t.Errorf("identifying data left: %+v", rs)
	}
	left := h.mentions(t, zeb.ID)
	for _, r := range left {
		switch r.kind {
		case store.KindAudit, store.KindConsents:
		case store.KindFlags:
			var f store.FlagRecord
			if err := bson.UnmarshalExtJSON([]byte(r.json), false, &f); err != nil {
				t.Fatal(err)
			}
			// Deletion withdraws consent first, which closes the
			// pharmacy's live flags; ErasePerson closes any left.
			reason := f.CloseReason == models.FlagClosedConsentWithdrawn || f.CloseReason == models.FlagClosedAccountDeleted
			if f.ID != worked || f.Status != models.FlagClosed || !reason || f.Live {
				t.Errorf("flag kept: %s", r.json)
			}
		default:
			t.Errorf("%s left after deletion: %s", r.kind, r.json)
		}
	}
	got := kindsOf(left)
	if got[store.KindAudit] != before[store.KindAudit]+1 || got[store.KindConsents] != before[store.KindConsents] || got[store.KindFlags] != 1 {
		t.Errorf("kept %v, want the access log (one more entry: the deletion), the consent record and one flag (was %v)", got, before)
	}

	// Tokens stop at once; the account cannot sign in; the e-mail is free.
	if r := h.do(t, "GET", "/v1/me", zeb.Access, nil); r.status != http.StatusUnauthorized {
		t.Errorf("access token after deletion: %d", r.status)
	}
	if r := h.do(t, "POST", "/v1/auth/refresh", "", map[string]any{"refreshToken": zeb.Refresh}); r.status != http.StatusUnauthorized {
		t.Errorf("refresh token after deletion: %d", r.status)
	}
	if r := h.do(t, "POST", "/v1/auth/login", "", map[string]any{"email": zeb.Email, "password": "correct horse battery"}); r.status != http.StatusUnauthorized {
		t.Errorf("login after deletion: %d", r.status)
	}
	again := h.register(t, zeb.Email, "patient")
	if again.ID == zeb.ID {
		t.Errorf("the new account has the old id")
	}
	if r := h.do(t, "GET", "/v1/patients/me/readings", again.Access, nil); r.status != http.StatusOK || len(r.json(t)["items"].([]any)) != 0 {
		t.Errorf("the new account sees: %d %s", r.status, r.body)
	}

	// The other patient keeps everything, the carer keeps their link to
	// them, and the pharmacist still works.
	if r := h.do(t, "GET", "/v1/patients/me/readings", other.Access, nil); len(r.json(t)["items"].([]any)) != 1 {
		t.Errorf("other patient's readings: %s", r.body)
	}
	r := h.do(t, "GET", "/v1/me/patients", carer.Access, nil)
	if r.status != http.StatusOK || strings.Contains(string(r.body), zeb.ID) || !strings.Contains(string(r.body), other.ID) {
		t.Errorf("carer's patients: %d %s", r.status, r.body)
	}
	if r := h.do(t, "GET", "/v1/pharmacy/flags?status=closed", pharmacist.Access, nil); r.status != http.StatusOK {
		t.Errorf("pharmacy queue after the deletion: %d %s", r.status, r.body)
	}
}

// TestDeleteCarerAccount: a carer's deletion ends their links; the
// patient's data stays, and the patient's access log keeps the carer's
// reads (by id: "who saw my data").
func TestDeleteCarerAccount(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	patient := h.register(t, "pat-c@example.org", "patient")
	carer := h.register(t, "car-c@example.org", "carer")
	h.linkCarer(t, patient, carer, models.ScopeViewReadings)
	if r := h.do(t, "GET", "/v1/patients/"+patient.ID+"/readings", carer.Access, nil); r.status != http.StatusOK {
		t.Fatalf("carer reads: %d %s", r.status, r.body)
	}
	logBefore := h.auditCount(t, patient.ID)
	if r := h.do(t, "DELETE", "/v1/me", carer.Access, map[string]any{"password": "correct horse battery"}); r.status != http.StatusNoContent {
		t.Fatalf("delete carer: %d %s\n%s", r.status, r.body, h.log)
	}
	if rs := h.mentions(t, carer.Email); len(rs) > 0 {
		t.Errorf("the carer's e-mail is left: %+v", rs)
	}
	for _, r := range h.mentions(t, carer.ID) {
		if r.kind != store.KindAudit && r.kind != store.KindInvitations {
			t.Errorf("%s left after the carer's deletion: %s", r.kind, r.json)
		}
	}
	if r := h.do(t, "GET", "/v1/patients/me/carers", patient.Access, nil); strings.Contains(string(r.body), carer.ID) {
		t.Errorf("patient's carers: %s", r.body)
	}
	if h.auditCount(t, patient.ID) != logBefore {
		t.Errorf("the patient's access log changed")
	}
	if r := h.do(t, "GET", "/v1/me", patient.Access, nil); r.status != http.StatusOK {
		t.Errorf("patient after the carer left: %d", r.status)
	}
}

// TestNHSNumber: a patient sets, normalises and clears an NHS number; a
// bad check digit and a carer's number are refused, naming the field.
func TestNHSNumber(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	patient := h.register(t, "nhs@example.org", "patient")
	carer := h.register(t, "nhs-carer@example.org", "carer")
	tests := []struct {
		name   string
		who    account
		value  string
		status int
		want   any // the stored number; nil: absent
	}{
		{"spaced", patient, "999 111 1115", http.StatusOK, "9991111115"},
		{"hyphenated", patient, "999-876-5439", http.StatusOK, "9998765439"},
		{"wrong check digit", patient, "999 111 1116", http.StatusBadRequest, "9998765439"},
		{"check value 10", patient, "9991234560", http.StatusBadRequest, "9998765439"},
		{"cleared", patient, "", http.StatusOK, nil},
		{"a carer", carer, "9991111115", http.StatusBadRequest, nil},
	}
	for _, tt := range tests {
		r := h.do(t, "PATCH", "/v1/me", tt.who.Access, map[string]any{"nhsNumber": tt.value})
		if r.status != tt.status {
			t.Errorf("%s: %d %s", tt.name, r.status, r.body)
			continue
		}
		if tt.status == http.StatusBadRequest && !slices.Contains(r.fields(t), "nhsNumber") {
			t.Errorf("%s: fields %v", tt.name, r.fields(t))
		}
		if got := h.do(t, "GET", "/v1/me", tt.who.Access, nil).json(t)["nhsNumber"]; got != tt.want {
			t.Errorf("%s: stored %v, want %v", tt.name, got, tt.want)
		}
	}
}
