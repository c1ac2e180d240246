package api_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
)

func TestCreatePharmacy(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin := h.firstAdmin(t)
	patient := h.register(t, "pat@example.org", "patient")

	r := h.do(t, "POST", "/v1/admin/pharmacies", admin.Access, map[string]any{"odsCode": " fa123 ", "name": " Alpha Pharmacy ", "postcode": "sw1a1aa"})
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	got := r.json(t)
	want := map[string]any{"id": got["id"], "odsCode": "FA123", "name": "Alpha Pharmacy", "postcode": "SW1A 1AA", "createdAt": "2026-11-25T09:00:00Z"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("created pharmacy (-want +got):\n%s", diff)
	}
	if r := h.do(t, "GET", "/v1/pharmacies/"+got["id"].(string), patient.Access, nil); r.status != 200 || r.json(t)["odsCode"] != "FA123" {
		t.Errorf("get: %d %s", r.status, r.body)
	}
	if r := h.do(t, "GET", "/v1/pharmacies/nope", patient.Access, nil); r.status != 404 || r.problemCode(t) != "not_found" {
		t.Errorf("get unknown: %d %s", r.status, r.body)
	}

	tests := []struct {
		name       string
		token      string
		body       any
		wantStatus int
		wantCode   string
		wantFields []string
	}{
		{"duplicate ODS code in another case", admin.Access, map[string]any{"odsCode": "Fa123", "name": "Other", "postcode": "M1 1AE"}, 409, "conflict", []string{"odsCode"}},
		{"every field bad", admin.Access, map[string]any{"odsCode": "1A", "name": " ", "postcode": "NOT A POSTCODE"}, 400, "invalid", []string{"odsCode", "name", "postcode"}},
		{"ODS code of letters only", admin.Access, map[string]any{"odsCode": "ABCDE", "name": "X", "postcode": "M1 1AE"}, 400, "invalid", []string{"odsCode"}},
		{"ODS code too long", admin.Access, map[string]any{"odsCode": "F1234567890", "name": "X", "postcode": "M1 1AE"}, 400, "invalid", []string{"odsCode"}},
		{"unknown field", admin.Access, map[string]any{"odsCode": "FB123", "name": "X", "postcode": "M1 1AE", "id": "mine"}, 400, "invalid", []string{"id"}},
		{"not an admin", patient.Access, map[string]any{"odsCode": "FB123", "name": "X", "postcode": "M1 1AE"}, 403, "forbidden", nil},
		{"no token", "", map[string]any{"odsCode": "FB123", "name": "X", "postcode": "M1 1AE"}, 401, "unauthorized", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(t, "POST", "/v1/admin/pharmacies", tc.token, tc.body)
			if r.status != tc.wantStatus || r.problemCode(t) != tc.wantCode {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if tc.wantFields != nil {
				if diff := cmp.Diff(tc.wantFields, r.fields(t)); diff != "" {
					t.Errorf("fields (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestPostcodeAndODSNormalisation(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"sw1a1aa": "SW1A 1AA", " SW1A   1AA ": "SW1A 1AA", "m11ae": "M1 1AE", "B33 8TH": "B33 8TH", "cr26xh": "CR2 6XH",
		"dn551pt": "DN55 1PT", "W1A 0AX": "W1A 0AX", "EC1A 1BB": "EC1A 1BB", "gir0aa": "GIR 0AA",
		"": "", "SW1A": "", "SW1A 1A": "", "1AA SW1": "", "SW1A 1AAA": "", "Q1 1AA1": "",
	} {
		got, ok := models.NormalizePostcode(in)
		if got != want || ok != (want != "") {
			t.Errorf("NormalizePostcode(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for in, want := range map[string]string{"fa123": "FA123", " FQ560 ": "FQ560", "A81001": "A81001", "RRK": "", "F1": "", "12345": "", "FA-123": ""} {
		got, ok := models.NormalizeODSCode(in)
		if ok != (want != "") || (ok && got != want) {
			t.Errorf("NormalizeODSCode(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestSearchPharmacies(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin := h.firstAdmin(t)
	carer := h.register(t, "carer@example.org", "carer")
	h.newPharmacy(t, admin, "FA001", "Alpha Chemist", "SW1A 1AA")
	h.newPharmacy(t, admin, "FB002", "Boots Victoria", "SW1V 1QT")
	h.newPharmacy(t, admin, "FC003", "Cohens (Manchester)", "M1 1AE")
	h.newPharmacy(t, admin, "QA004", "Well Pharmacy", "LS1 4AP")

	names := func(r response) []string {
		t.Helper()
		var out []string
		for _, it := range r.json(t)["items"].([]any) {
			out = append(out, it.(map[string]any)["name"].(string))
		}
		return out
	}
	tests := []struct {
		q    string
		want []string
	}{
		{"alpha", []string{"Alpha Chemist"}},
		{"CHEM", []string{"Alpha Chemist"}},
		{"sw1", []string{"Alpha Chemist", "Boots Victoria"}},
		{"SW1A 1", []string{"Alpha Chemist"}},
		{"sw1a1aa", []string{"Alpha Chemist"}},
		{"m1", []string{"Cohens (Manchester)"}},
		{"qa0", []string{"Well Pharmacy"}},
		{"(manchester)", []string{"Cohens (Manchester)"}},
		{".*", nil},
		{"zzz", nil},
		{"", []string{"Alpha Chemist", "Boots Victoria", "Cohens (Manchester)", "Well Pharmacy"}},
	}
	for _, tc := range tests {
		r := h.do(t, "GET", "/v1/pharmacies?q="+urlQuery(tc.q), carer.Access, nil)
		if r.status != 200 {
			t.Fatalf("q=%q: %d %s", tc.q, r.status, r.body)
		}
		if diff := cmp.Diff(tc.want, names(r)); diff != "" {
			t.Errorf("q=%q (-want +got):\n%s", tc.q, diff)
		}
	}
	// At most 20 results.
	for i := range 20 {
		h.newPharmacy(t, admin, fmt.Sprintf("FZ%03d", i), fmt.Sprintf("Zeta %02d", i), "M1 1AE")
	}
	if r := h.do(t, "GET", "/v1/pharmacies?q=zeta", carer.Access, nil); len(names(r)) != 20 {
		t.Errorf("limit: %d results", len(names(r)))
	}
	if r := h.do(t, "GET", "/v1/pharmacies?q="+urlQuery(string(make([]byte, 101))), carer.Access, nil); r.status != 400 {
		t.Errorf("long q: %d", r.status)
	}
	if r := h.do(t, "GET", "/v1/pharmacies?q=alpha", "", nil); r.status != 401 {
		t.Errorf("no token: %d", r.status)
	}
}

func urlQuery(s string) string {
	out := ""
	for _, b := range []byte(s) {
		out += fmt.Sprintf("%%%02X", b)
	}
	return out
}

func TestPharmacistMustBelongToAPharmacy(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin := h.firstAdmin(t)
	r := h.do(t, "POST", "/v1/admin/users", admin.Access, map[string]any{
		"email": "ph@example.org", "password": "long password!", "name": "Ph", "role": "pharmacist", "pharmacyId": "no-such-pharmacy",
	})
	if r.status != 400 || !cmp.Equal(r.fields(t), []string{"pharmacyId"}) {
		t.Errorf("unknown pharmacy: %d %s", r.status, r.body)
	}
	ph := h.newPharmacist(t, admin, "ph@example.org", h.newPharmacy(t, admin, "FA001", "Alpha", "M1 1AE"))
	if r := h.do(t, "GET", "/v1/me", ph.Access, nil); r.json(t)["pharmacyId"] == "" {
		t.Errorf("pharmacist without pharmacy: %s", r.body)
	}
}

// consentLog records what a ConsentObserver hears.
type consentLog struct {
	mu    sync.Mutex
	ended []string
}

func (l *consentLog) ConsentEnded(_ context.Context, patientID, pharmacyID string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ended = append(l.ended, patientID+"→"+pharmacyID+"@"+at.Format(time.RFC3339))
}

func (l *consentLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.ended
	l.ended = nil
	return out
}

func TestNominationAndConsent(t *testing.T) {
	t.Parallel()
	heard := &consentLog{}
	h := newHarnessHearing(t, heard)
	admin := h.firstAdmin(t)
	a := h.newPharmacy(t, admin, "FA001", "Alpha", "SW1A 1AA")
	b := h.newPharmacy(t, admin, "FB002", "Beta", "M1 1AE")
	phA := h.newPharmacist(t, admin, "a@example.org", a)
	phB := h.newPharmacist(t, admin, "b@example.org", b)
	patient := h.register(t, "pat@example.org", "patient")
	readings := "/v1/patients/" + patient.ID + "/readings"

	r := h.do(t, "GET", "/v1/patients/me/pharmacy", patient.Access, nil)
	if r.status != 404 || r.json(t)["detail"] != "no pharmacy is nominated" {
		t.Errorf("before nominating: %d %s", r.status, r.body)
	}
	for name, tc := range map[string]struct {
		body   any
		fields []string
	}{
		"consent missing":  {map[string]any{"pharmacyId": a}, []string{"consent"}},
		"consent false":    {map[string]any{"pharmacyId": a, "consent": false}, []string{"consent"}},
		"unknown pharmacy": {map[string]any{"pharmacyId": "nope", "consent": true}, []string{"pharmacyId"}},
		"nothing":          {map[string]any{}, []string{"pharmacyId", "consent"}},
		"consent a string": {map[string]any{"pharmacyId": a, "consent": "yes"}, []string{"consent"}},
	} {
		r := h.do(t, "PUT", "/v1/patients/me/pharmacy", patient.Access, tc.body)
		if r.status != 400 || !cmp.Equal(r.fields(t), tc.fields) {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	if r := h.do(t, "GET", readings, phA.Access, nil); r.status != 404 {
		t.Errorf("pharmacist before consent: %d", r.status)
	}

	// Nominate A.
	r = h.do(t, "PUT", "/v1/patients/me/pharmacy", patient.Access, map[string]any{"pharmacyId": a, "consent": true})
	if r.status != 200 {
		t.Fatalf("nominate: %d %s", r.status, r.body)
	}
	consent := r.json(t)["consent"].(map[string]any)
	wantConsent := map[string]any{"id": consent["id"], "patientId": patient.ID, "pharmacyId": a, "grantedBy": patient.ID,
		"grantedAt": "2026-11-25T09:00:00Z", "textVersion": models.PharmacyConsentVersion}
	if diff := cmp.Diff(wantConsent, consent); diff != "" {
		t.Errorf("consent (-want +got):\n%s", diff)
	}
	if r := h.do(t, "GET", readings, phA.Access, nil); r.status != 200 {
		t.Errorf("pharmacist A with consent: %d %s", r.status, r.body)
	}
	if r := h.do(t, "GET", readings, phB.Access, nil); r.status != 404 {
		t.Errorf("pharmacist B: %d", r.status)
	}
	// Again: nothing changes.
	h.later(t, time.Hour, &patient, &phA, &phB)
	r = h.do(t, "PUT", "/v1/patients/me/pharmacy", patient.Access, map[string]any{"pharmacyId": a, "consent": true})
	if r.status != 200 || r.json(t)["consent"].(map[string]any)["id"] != consent["id"] {
		t.Errorf("same pharmacy again: %d %s", r.status, r.body)
	}
	if got := heard.take(); got != nil {
		t.Errorf("observer heard %v on a no-op", got)
	}

	// Change to B: A loses access at once, B gains it.
	h.later(t, time.Hour, &patient, &phA, &phB)
	h.nominate(t, patient, b)
	if r := h.do(t, "GET", readings, phA.Access, nil); r.status != 404 {
		t.Errorf("pharmacist A after change: %d", r.status)
	}
	if r := h.do(t, "GET", readings, phB.Access, nil); r.status != 200 {
		t.Errorf("pharmacist B after change: %d", r.status)
	}
	if diff := cmp.Diff([]string{patient.ID + "→" + a + "@2026-11-25T11:00:00Z"}, heard.take()); diff != "" {
		t.Errorf("observer on change (-want +got):\n%s", diff)
	}
	if r := h.do(t, "GET", "/v1/patients/me/pharmacy", patient.Access, nil); r.status != 200 || r.json(t)["pharmacy"].(map[string]any)["id"] != b {
		t.Errorf("current: %d %s", r.status, r.body)
	}

	// Withdraw: B loses access at once.
	h.later(t, time.Hour, &patient, &phA, &phB)
	if r := h.do(t, "DELETE", "/v1/patients/me/pharmacy", patient.Access, nil); r.status != 204 {
		t.Fatalf("withdraw: %d %s", r.status, r.body)
	}
	if r := h.do(t, "GET", readings, phB.Access, nil); r.status != 404 {
		t.Errorf("pharmacist B after withdrawal: %d", r.status)
	}
	if diff := cmp.Diff([]string{patient.ID + "→" + b + "@2026-11-25T12:00:00Z"}, heard.take()); diff != "" {
		t.Errorf("observer on withdrawal (-want +got):\n%s", diff)
	}
	if r := h.do(t, "GET", "/v1/patients/me/pharmacy", patient.Access, nil); r.status != 404 {
		t.Errorf("current after withdrawal: %d", r.status)
	}
	if r := h.do(t, "DELETE", "/v1/patients/me/pharmacy", patient.Access, nil); r.status != 204 || heard.take() != nil {
		t.Errorf("withdraw again: %d", r.status)
	}

	// The history keeps every grant with its end.
	r = h.do(t, "GET", "/v1/patients/me/pharmacy/consents", patient.Access, nil)
	type row struct{ Pharmacy, Granted, Withdrawn, Reason string }
	var got []row
	for _, it := range r.json(t)["items"].([]any) {
		m := it.(map[string]any)
		w, _ := m["withdrawnAt"].(string)
		reason, _ := m["endReason"].(string)
		got = append(got, row{m["pharmacyId"].(string), m["grantedAt"].(string), w, reason})
	}
	want := []row{
		{b, "2026-11-25T11:00:00Z", "2026-11-25T12:00:00Z", "withdrawn"},
		{a, "2026-11-25T09:00:00Z", "2026-11-25T11:00:00Z", "changed"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
}

// TestConcurrentNominations: whatever order concurrent nominations land
// in, exactly one consent stands afterwards and it is the nomination in
// force; every other grant is closed, and the observer heard of every
// pharmacy that had access and lost it.
func TestConcurrentNominations(t *testing.T) {
	t.Parallel()
	heard := &consentLog{}
	h := newHarnessHearing(t, heard)
	admin := h.firstAdmin(t)
	patient := h.register(t, "pat@example.org", "patient")
	const n = 8
	ids := make([]string, n)
	for i := range n {
		ids[i] = h.newPharmacy(t, admin, fmt.Sprintf("FA%03d", i), fmt.Sprintf("Pharmacy %d", i), "M1 1AE")
	}
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			statuses[i] = h.do(t, "PUT", "/v1/patients/me/pharmacy", patient.Access, map[string]any{"pharmacyId": ids[i], "consent": true}).status
		})
	}
	wg.Wait()
	won := 0
	for _, s := range statuses {
		switch s {
		case 200:
			won++
		case 409:
		default:
			t.Errorf("status %d", s)
		}
	}
	if won == 0 {
		t.Fatal("no nomination succeeded")
	}
	cur, has, err := h.consents.Nomination(t.Context(), patient.ID)
	if err != nil || !has {
		t.Fatalf("nomination: %v %v", has, err)
	}
	hist, err := h.consents.History(t.Context(), patient.ID)
	if err != nil {
		t.Fatal(err)
	}
	var open []string
	changed := 0
	for _, c := range hist {
		switch {
		case c.WithdrawnAt == nil:
			open = append(open, c.ID)
		case c.EndReason == models.ConsentChanged:
			changed++
		case c.EndReason != models.ConsentSuperseded:
			t.Errorf("consent %s ended %q", c.ID, c.EndReason)
		}
	}
	if diff := cmp.Diff([]string{cur.ConsentID}, open); diff != "" {
		t.Errorf("open consents (-want +got):\n%s", diff)
	}
	if changed != won-1 || len(heard.take()) != changed {
		t.Errorf("%d nominations won, %d consents ended as changed", won, changed)
	}
	sort.Ints(statuses)
	t.Logf("statuses %v", statuses)
}
