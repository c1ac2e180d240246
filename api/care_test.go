package api_test

import (
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
)

var codeShape = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$`)

func TestInviteAndAccept(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	patient := h.register(t, "pat@example.org", "patient")
	carer := h.register(t, "carer@example.org", "carer")
	other := h.register(t, "other-carer@example.org", "carer")

	r := h.do(t, "POST", "/v1/patients/me/carers/invitations", patient.Access, map[string]any{
		"scopes": []string{"view_readings", "reading_alerts", "view_readings"}, "note": "for Sam",
	})
	if r.status != http.StatusCreated {
		t.Fatalf("invite: %d %s", r.status, r.body)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("code response cacheable: %q", r.header.Get("Cache-Control"))
	}
	created := r.json(t)
	code := created["code"].(string)
	if !codeShape.MatchString(code) {
		t.Errorf("code %q", code)
	}
	inv := created["invitation"].(map[string]any)
	wantInv := map[string]any{"id": inv["id"], "patientId": patient.ID, "scopes": []any{"reading_alerts", "view_readings"},
		"note": "for Sam", "createdAt": "2026-11-25T09:00:00Z", "expiresAt": "2026-11-28T09:00:00Z", "status": "pending"}
	if diff := cmp.Diff(wantInv, inv); diff != "" {
		t.Errorf("invitation (-want +got):\n%s", diff)
	}
	list := h.do(t, "GET", "/v1/patients/me/carers/invitations", patient.Access, nil)
	if strings.Contains(string(list.body), code) || strings.Contains(string(list.body), strings.ReplaceAll(code, "-", "")) {
		t.Errorf("the code is listed: %s", list.body)
	}

	// Carers only; the code as typed, in any case, without dashes.
	if r := h.do(t, "POST", "/v1/care/invitations/accept", patient.Access, map[string]any{"code": code}); r.status != 403 {
		t.Errorf("patient accepting: %d", r.status)
	}
	typed := strings.ToLower(strings.ReplaceAll(code, "-", " "))
	r = h.do(t, "POST", "/v1/care/invitations/accept", carer.Access, map[string]any{"code": typed})
	if r.status != http.StatusCreated {
		t.Fatalf("accept: %d %s", r.status, r.body)
	}
	link := r.json(t)
	wantLink := map[string]any{"id": patient.ID + ":" + carer.ID, "patientId": patient.ID, "carerId": carer.ID,
		"scopes": []any{"reading_alerts", "view_readings"}, "status": "active", "invitationId": inv["id"],
		"createdAt": "2026-11-25T09:00:00Z", "updatedAt": "2026-11-25T09:00:00Z"}
	if diff := cmp.Diff(wantLink, link); diff != "" {
		t.Errorf("link (-want +got):\n%s", diff)
	}
	// A retry by the same carer returns the link; anyone else finds it used.
	if r := h.do(t, "POST", "/v1/care/invitations/accept", carer.Access, map[string]any{"code": code}); r.status != 200 || r.json(t)["id"] != link["id"] {
		t.Errorf("same carer again: %d %s", r.status, r.body)
	}
	r = h.do(t, "POST", "/v1/care/invitations/accept", other.Access, map[string]any{"code": code})
	if r.status != 404 || r.json(t)["detail"] != "this invitation code has already been used" {
		t.Errorf("other carer: %d %s", r.status, r.body)
	}

	list = h.do(t, "GET", "/v1/patients/me/carers/invitations", patient.Access, nil)
	item := list.json(t)["items"].([]any)[0].(map[string]any)
	if item["status"] != "accepted" || item["acceptedBy"] != carer.ID || item["linkId"] != link["id"] {
		t.Errorf("listed invitation: %v", item)
	}
	r = h.do(t, "GET", "/v1/me/patients", carer.Access, nil)
	wantMine := map[string]any{"items": []any{map[string]any{"patientId": patient.ID, "firstName": "Test", "linkId": link["id"],
		"scopes": []any{"reading_alerts", "view_readings"}, "paused": false, "since": "2026-11-25T09:00:00Z"}}}
	if diff := cmp.Diff(wantMine, r.json(t)); diff != "" {
		t.Errorf("my patients (-want +got):\n%s", diff)
	}
	r = h.do(t, "GET", "/v1/patients/me/carers", patient.Access, nil)
	carers := r.json(t)["items"].([]any)
	if len(carers) != 1 || carers[0].(map[string]any)["carerName"] != "Test carer" {
		t.Errorf("patient's carers: %s", r.body)
	}
	if r := h.do(t, "GET", "/v1/me/patients", patient.Access, nil); r.status != 403 {
		t.Errorf("patient listing cared-for patients: %d", r.status)
	}
}

func TestInvitationValidationAndBadCodes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	patient := h.register(t, "pat@example.org", "patient")
	carer := h.register(t, "carer@example.org", "carer")
	for name, tc := range map[string]struct {
		body   any
		fields []string
	}{
		"no scopes":      {map[string]any{}, []string{"scopes"}},
		"empty scopes":   {map[string]any{"scopes": []string{}}, []string{"scopes"}},
		"unknown scope":  {map[string]any{"scopes": []string{"view_readings", "everything"}}, []string{"scopes[1]"}},
		"note too long":  {map[string]any{"scopes": []string{"view_readings"}, "note": strings.Repeat("x", 501)}, []string{"note"}},
		"unknown field":  {map[string]any{"scopes": []string{"view_readings"}, "code": "MINE"}, []string{"code"}},
		"scopes a thing": {map[string]any{"scopes": "view_readings"}, []string{"scopes"}},
	} {
		r := h.do(t, "POST", "/v1/patients/me/carers/invitations", patient.Access, tc.body)
		if r.status != 400 || !cmp.Equal(r.fields(t), tc.fields) {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	for name, tc := range map[string]struct {
		code, status, detail string
	}{
		"malformed":  {"12345", "400", ""},
		"bad letter": {"UUUU-UUUU-UUUU-UUUU", "400", ""},
		"unknown":    {"ABCD-EFGH-JKMN-PQRS", "404", "no invitation has this code"},
	} {
		r := h.do(t, "POST", "/v1/care/invitations/accept", carer.Access, map[string]any{"code": tc.code})
		if got := r.json(t); r.problemCode(t) != map[string]string{"400": "invalid", "404": "not_found"}[tc.status] ||
			(tc.detail != "" && got["detail"] != tc.detail) {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
}

func TestInvitationExpiresAfter72Hours(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	patient := h.register(t, "pat@example.org", "patient")
	carer := h.register(t, "carer@example.org", "carer")
	late, _ := h.invite(t, patient, models.ScopeViewSummary)
	h.later(t, time.Hour, &patient, &carer)
	onTime, _ := h.invite(t, patient, models.ScopeViewSummary)

	h.later(t, 72*time.Hour-time.Second, &patient, &carer) // onTime has a second left; late expired 59:59 ago
	r := h.do(t, "POST", "/v1/care/invitations/accept", carer.Access, map[string]any{"code": late})
	if r.status != 404 || r.json(t)["detail"] != "this invitation code has expired; ask the patient for a new one" {
		t.Errorf("expired: %d %s", r.status, r.body)
	}
	h.accept(t, carer, onTime)
	r = h.do(t, "GET", "/v1/patients/me/carers/invitations", patient.Access, nil)
	var statuses []string
	for _, it := range r.json(t)["items"].([]any) {
		statuses = append(statuses, it.(map[string]any)["status"].(string))
	}
	if diff := cmp.Diff([]string{"accepted", "expired"}, statuses); diff != "" {
		t.Errorf("statuses, newest first (-want +got):\n%s", diff)
	}
	// Exactly at expiry the code no longer works.
	atExpiry, _ := h.invite(t, patient, models.ScopeViewSummary)
	h.later(t, 72*time.Hour, &patient, &carer)
	other := h.register(t, "other@example.org", "carer")
	if r := h.do(t, "POST", "/v1/care/invitations/accept", other.Access, map[string]any{"code": atExpiry}); r.status != 404 {
		t.Errorf("at expiry: %d %s", r.status, r.body)
	}
}

func TestRevokeInvitation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	patient := h.register(t, "pat@example.org", "patient")
	other := h.register(t, "other@example.org", "patient")
	carer := h.register(t, "carer@example.org", "carer")
	code, id := h.invite(t, patient, models.ScopeViewSummary)

	if r := h.do(t, "DELETE", "/v1/patients/me/carers/invitations/"+id, other.Access, nil); r.status != 404 || r.json(t)["detail"] != "invitation not found" {
		t.Errorf("another patient's revoke: %d %s", r.status, r.body)
	}
	if r := h.do(t, "DELETE", "/v1/patients/me/carers/invitations/"+id, patient.Access, nil); r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := h.do(t, "DELETE", "/v1/patients/me/carers/invitations/"+id, patient.Access, nil); r.status != 204 {
		t.Errorf("revoke again: %d %s", r.status, r.body)
	}
	r := h.do(t, "POST", "/v1/care/invitations/accept", carer.Access, map[string]any{"code": code})
	if r.status != 404 || r.json(t)["detail"] != "this invitation was withdrawn by the patient" {
		t.Errorf("accept revoked: %d %s", r.status, r.body)
	}
	code2, id2 := h.invite(t, patient, models.ScopeViewSummary)
	h.accept(t, carer, code2)
	if r := h.do(t, "DELETE", "/v1/patients/me/carers/invitations/"+id2, patient.Access, nil); r.status != 409 {
		t.Errorf("revoke accepted: %d %s", r.status, r.body)
	}
	if r := h.do(t, "DELETE", "/v1/patients/me/carers/invitations/nope", patient.Access, nil); r.status != 404 {
		t.Errorf("revoke unknown: %d", r.status)
	}
}

// TestConcurrentAccept: carers racing for one code — exactly one links.
func TestConcurrentAccept(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	patient := h.register(t, "pat@example.org", "patient")
	const n = 8
	carers := make([]account, n)
	for i := range n {
		carers[i] = h.register(t, "carer"+string(rune('a'+i))+"@example.org", "carer")
	}
	for round := range 3 {
		code, _ := h.invite(t, patient, models.ScopeViewReadings)
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				statuses[i] = h.do(t, "POST", "/v1/care/invitations/accept", carers[i].Access, map[string]any{"code": code}).status
			})
		}
		wg.Wait()
		winners := 0
		for _, s := range statuses {
			switch s {
			case 201:
				winners++
			case 404:
			default:
				t.Errorf("round %d: status %d", round, s)
			}
		}
		if winners != 1 {
			t.Errorf("round %d: %d carers won one code: %v", round, winners, statuses)
		}
	}
	r := h.do(t, "GET", "/v1/patients/me/carers", patient.Access, nil)
	if got := len(r.json(t)["items"].([]any)); got > 3 {
		t.Errorf("%d links from 3 codes", got)
	}
}

// TestCarerChangesTakeEffectAtOnce: scopes, pause, revoke and leaving
// change what the carer may do on their very next request.
func TestCarerChangesTakeEffectAtOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	patient := h.register(t, "pat@example.org", "patient")
	other := h.register(t, "other@example.org", "patient")
	carer := h.register(t, "carer@example.org", "carer")
	linkID := h.linkCarer(t, patient, carer, models.ScopeViewReadings)
	readings := "/v1/patients/" + patient.ID + "/readings"
	patch := func(body any) response {
		return h.do(t, "PATCH", "/v1/patients/me/carers/"+linkID, patient.Access, body)
	}
	expect := func(step string, want int) {
		t.Helper()
		if r := h.do(t, "GET", readings, carer.Access, nil); r.status != want {
			t.Errorf("%s: carer reading: %d, want %d: %s", step, r.status, want, r.body)
		}
	}
	myPatients := func() []any {
		t.Helper()
		return h.do(t, "GET", "/v1/me/patients", carer.Access, nil).json(t)["items"].([]any)
	}

	expect("linked", 200)
	if r := patch(map[string]any{"scopes": []string{"view_summary"}}); r.status != 200 || !cmp.Equal(r.json(t)["scopes"], []any{"view_summary"}) {
		t.Fatalf("change scopes: %d %s", r.status, r.body)
	}
	expect("scope removed", 403)
	patch(map[string]any{"scopes": []string{"view_summary", "view_readings"}})
	expect("scope given back", 200)
	if r := patch(map[string]any{"paused": true}); r.status != 200 || r.json(t)["status"] != "paused" {
		t.Fatalf("pause: %d %s", r.status, r.body)
	}
	expect("paused", 403)
	if p := myPatients(); len(p) != 1 || p[0].(map[string]any)["paused"] != true {
		t.Errorf("my patients while paused: %v", p)
	}
	patch(map[string]any{"paused": false})
	expect("resumed", 200)

	for name, tc := range map[string]struct {
		body   any
		fields []string
	}{
		"empty scopes":  {map[string]any{"scopes": []string{}}, []string{"scopes"}},
		"unknown scope": {map[string]any{"scopes": []string{"bogus"}}, []string{"scopes[0]"}},
		"unknown field": {map[string]any{"status": "active"}, []string{"status"}},
	} {
		if r := patch(tc.body); r.status != 400 || !cmp.Equal(r.fields(t), tc.fields) {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	if r := h.do(t, "PATCH", "/v1/patients/me/carers/"+linkID, other.Access, map[string]any{"paused": true}); r.status != 404 || r.json(t)["detail"] != "carer link not found" {
		t.Errorf("another patient's change: %d %s", r.status, r.body)
	}

	// Revoke: the carer no longer knows the patient.
	if r := h.do(t, "DELETE", "/v1/patients/me/carers/"+linkID, patient.Access, nil); r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	expect("revoked", 404)
	if p := myPatients(); len(p) != 0 {
		t.Errorf("my patients after revocation: %v", p)
	}
	if r := patch(map[string]any{"paused": false}); r.status != 409 {
		t.Errorf("change a revoked link: %d %s", r.status, r.body)
	}
	if r := h.do(t, "DELETE", "/v1/patients/me/carers/"+linkID, patient.Access, nil); r.status != 204 {
		t.Errorf("revoke again: %d", r.status)
	}

	// Invited again: the same pair, the same link id, the new terms.
	if again := h.linkCarer(t, patient, carer, models.ScopeViewReadings); again != linkID {
		t.Errorf("new link id %s", again)
	}
	expect("invited again", 200)

	// The carer leaves.
	if r := h.do(t, "DELETE", "/v1/me/patients/"+patient.ID, carer.Access, nil); r.status != 204 {
		t.Fatalf("leave: %d %s", r.status, r.body)
	}
	expect("left", 404)
	if r := h.do(t, "DELETE", "/v1/me/patients/"+patient.ID, carer.Access, nil); r.status != 404 {
		t.Errorf("leave again: %d", r.status)
	}
	r := h.do(t, "GET", "/v1/patients/me/carers", patient.Access, nil)
	l := r.json(t)["items"].([]any)[0].(map[string]any)
	if l["status"] != "revoked" || l["endedBy"] != "carer" || l["revokedAt"] == nil {
		t.Errorf("link after the carer left: %v", l)
	}
}
