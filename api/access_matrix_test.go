package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/concord-health/concord/models"
)

// routeAccess says who besides the patient may use a patient route. Every
// route registered under /v1/patients/:patientId needs an entry in
// accessTable (keyed "METHOD pattern", as Fiber registers it): a route
// without one, or an entry without a route, fails TestAccessMatrix, so no
// new route escapes the matrix.
type routeAccess struct {
	// carerScope is the scope a carer needs; "" means no carer may.
	carerScope models.CareScope
	// anyCarer: every carer whose link is active may, whatever its scopes
	// (what they get follows the scopes: the change feed).
	anyCarer bool
	// pharmacist: the nominated pharmacy's pharmacist may (while consent stands).
	pharmacist bool
	// params fills the route's parameters other than patientId; unset ones
	// get "matrix-missing".
	params func(w *matrixWorld) map[string]string
	// body is sent with the request (nil: none for GET/DELETE, {} otherwise).
	body func(w *matrixWorld) any
	// patientStatus, if set, is the exact status the patient must get.
	patientStatus int
	// pharmacistOnly: only the nominated pharmacy's pharmacist may; the
	// patient is refused (403) after the policy lets them through.
	pharmacistOnly bool
	// patientAudited: the patient's own use is logged too (an export).
	patientAudited bool
}

// The scopes of the data routes (DESIGN.md "Identity and access";
// services/access.go carerScopeFor): view_readings reads readings;
// view_medications reads medicines, doses and adherence; view_summary the
// summary. Writes and the care-circle, pharmacy and access-log routes are
// the patient's alone.
var accessTable = map[string]routeAccess{
	// Readings.
	"POST /v1/patients/:patientId/readings":              {},
	"POST /v1/patients/:patientId/readings/batch":        {},
	"POST /v1/patients/:patientId/readings/fhir":         {},
	"GET /v1/patients/:patientId/readings":               {carerScope: models.ScopeViewReadings, pharmacist: true, patientStatus: 200},
	"GET /v1/patients/:patientId/readings/summary":       {carerScope: models.ScopeViewReadings, pharmacist: true},
	"GET /v1/patients/:patientId/readings/:readingId":    {carerScope: models.ScopeViewReadings, pharmacist: true},
	"DELETE /v1/patients/:patientId/readings/:readingId": {},
	// Medicines, doses, adherence.
	"POST /v1/patients/:patientId/medications":                 {},
	"GET /v1/patients/:patientId/medications":                  {carerScope: models.ScopeViewMedications, pharmacist: true},
	"GET /v1/patients/:patientId/medications/:medicationId":    {carerScope: models.ScopeViewMedications, pharmacist: true},
	"PATCH /v1/patients/:patientId/medications/:medicationId":  {},
	"DELETE /v1/patients/:patientId/medications/:medicationId": {},
	"GET /v1/patients/:patientId/doses":                        {carerScope: models.ScopeViewMedications, pharmacist: true},
	"POST /v1/patients/:patientId/doses":                       {},
	"POST /v1/patients/:patientId/doses/:doseId/taken":         {},
	"POST /v1/patients/:patientId/doses/:doseId/skipped":       {},
	"POST /v1/patients/:patientId/doses/:doseId/snooze":        {},
	"GET /v1/patients/:patientId/adherence":                    {carerScope: models.ScopeViewMedications, pharmacist: true},
	// Pharmacy nomination and consent.
	"GET /v1/patients/:patientId/pharmacy":          {patientStatus: 200},
	"GET /v1/patients/:patientId/pharmacy/consents": {patientStatus: 200},
	"PUT /v1/patients/:patientId/pharmacy": {patientStatus: 200, body: func(w *matrixWorld) any {
		return map[string]any{"pharmacyId": w.pharmacyA, "consent": true}
	}},
	"DELETE /v1/patients/:patientId/pharmacy": {patientStatus: 204},
	// Care circle.
	"POST /v1/patients/:patientId/carers/invitations": {patientStatus: 201, body: func(*matrixWorld) any {
		return map[string]any{"scopes": []string{"view_summary"}}
	}},
	"GET /v1/patients/:patientId/carers/invitations": {patientStatus: 200},
	"DELETE /v1/patients/:patientId/carers/invitations/:invitationId": {patientStatus: 204, params: func(w *matrixWorld) map[string]string {
		return map[string]string{"invitationId": w.pendingInvitation}
	}},
	"GET /v1/patients/:patientId/carers": {patientStatus: 200},
	"GET /v1/patients/:patientId/carers/:linkId": {patientStatus: 200, params: func(w *matrixWorld) map[string]string {
		return map[string]string{"linkId": w.carerAllLink}
	}},
	"PATCH /v1/patients/:patientId/carers/:linkId": {patientStatus: 200, params: func(w *matrixWorld) map[string]string {
		return map[string]string{"linkId": w.carerAllLink}
	}, body: func(*matrixWorld) any {
		return map[string]any{"scopes": allScopes, "paused": false} // the terms it has: a no-op
	}},
	"DELETE /v1/patients/:patientId/carers/:linkId": {patientStatus: 204, params: func(w *matrixWorld) map[string]string {
		return map[string]string{"linkId": w.spareLink}
	}},
	// The change feed: what each caller sees follows their reads.
	"GET /v1/patients/:patientId/changes": {anyCarer: true, pharmacist: true, patientStatus: 200},
	// Access log.
	"GET /v1/patients/:patientId/access-log": {patientStatus: 200},
	// The patient's export: theirs alone.
	"GET /v1/patients/:patientId/export": {patientStatus: 200, patientAudited: true},
	// The consultation report: the patient and the nominated pharmacy (who
	// may read every part of it), never carers; every request logged. Its
	// share links are the patient's alone.
	"GET /v1/patients/:patientId/report": {pharmacist: true, patientStatus: 200, patientAudited: true},
	"POST /v1/patients/:patientId/report/links": {patientStatus: 201, patientAudited: true, body: func(*matrixWorld) any {
		return map[string]any{"days": 28, "expiresInDays": 1}
	}},
	"GET /v1/patients/:patientId/report/links": {patientStatus: 200},
	"DELETE /v1/patients/:patientId/report/links/:linkId": {patientStatus: 204, patientAudited: true, params: func(w *matrixWorld) map[string]string {
		return map[string]string{"linkId": w.reportLink}
	}},
	// The summary: carers with view_summary and the nominated pharmacy.
	"GET /v1/patients/:patientId/summary": {carerScope: models.ScopeViewSummary, pharmacist: true, patientStatus: 200},
	// Pharmacy services: the patient and the nominated pharmacy read; only
	// its pharmacist records.
	"GET /v1/patients/:patientId/services":                            {pharmacist: true, patientStatus: 200},
	"GET /v1/patients/:patientId/services/:episodeId":                 {pharmacist: true},
	"GET /v1/patients/:patientId/services/:episodeId/record":          {pharmacist: true, pharmacistOnly: true},
	"POST /v1/patients/:patientId/services/nms":                       {pharmacist: true, pharmacistOnly: true},
	"POST /v1/patients/:patientId/services/bp-check":                  {pharmacist: true, pharmacistOnly: true},
	"POST /v1/patients/:patientId/services/dms":                       {pharmacist: true, pharmacistOnly: true},
	"POST /v1/patients/:patientId/services/smr-referrals":             {pharmacist: true, pharmacistOnly: true},
	"POST /v1/patients/:patientId/services/:episodeId/intervention":   {pharmacist: true, pharmacistOnly: true},
	"POST /v1/patients/:patientId/services/:episodeId/follow-up":      {pharmacist: true, pharmacistOnly: true},
	"POST /v1/patients/:patientId/services/:episodeId/abpm":           {pharmacist: true, pharmacistOnly: true},
	"POST /v1/patients/:patientId/services/:episodeId/reconciliation": {pharmacist: true, pharmacistOnly: true},
	"POST /v1/patients/:patientId/services/:episodeId/close":          {pharmacist: true, pharmacistOnly: true},
}

// matrixWorld is one patient and everyone who might ask for their data.
type matrixWorld struct {
	patient, otherPatient                      account
	carerAll, paused, revoked, spare           account
	carerWithout                               map[models.CareScope]account
	pharmacistA, pharmacistB, admin            account
	pharmacyA, pharmacyB                       string
	carerAllLink, spareLink, pendingInvitation string
	reportLink                                 string
	seq                                        int // numbers request ids
}

func newMatrixWorld(t *testing.T, h *harness) *matrixWorld {
	t.Helper()
	w := &matrixWorld{carerWithout: map[models.CareScope]account{}}
	w.admin = h.firstAdmin(t)
	w.pharmacyA = h.newPharmacy(t, w.admin, "FA001", "Alpha Pharmacy", "SW1A 1AA")
	w.pharmacyB = h.newPharmacy(t, w.admin, "FB002", "Beta Pharmacy", "M1 1AE")
	w.pharmacistA = h.newPharmacist(t, w.admin, "ph-a@example.org", w.pharmacyA)
	w.pharmacistB = h.newPharmacist(t, w.admin, "ph-b@example.org", w.pharmacyB)
	w.patient = h.register(t, "patient@example.org", "patient")
	w.otherPatient = h.register(t, "other@example.org", "patient")
	h.nominate(t, w.patient, w.pharmacyA)
	h.nominate(t, w.otherPatient, w.pharmacyB)

	w.carerAll = h.register(t, "carer-all@example.org", "carer")
	w.carerAllLink = h.linkCarer(t, w.patient, w.carerAll, allScopes...)
	for _, s := range []models.CareScope{models.ScopeViewReadings, models.ScopeViewMedications, models.ScopeViewSummary} {
		c := h.register(t, "carer-no-"+string(s)+"@example.org", "carer")
		h.linkCarer(t, w.patient, c, scopesWithout(s)...)
		w.carerWithout[s] = c
	}
	w.paused = h.register(t, "carer-paused@example.org", "carer")
	pausedLink := h.linkCarer(t, w.patient, w.paused, allScopes...)
	if r := h.do(t, "PATCH", "/v1/patients/me/carers/"+pausedLink, w.patient.Access, map[string]any{"paused": true}); r.status != 200 {
		t.Fatalf("pause: %d %s", r.status, r.body)
	}
	w.revoked = h.register(t, "carer-revoked@example.org", "carer")
	revokedLink := h.linkCarer(t, w.patient, w.revoked, allScopes...)
	if r := h.do(t, "DELETE", "/v1/patients/me/carers/"+revokedLink, w.patient.Access, nil); r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	w.spare = h.register(t, "carer-spare@example.org", "carer")
	w.spareLink = h.linkCarer(t, w.patient, w.spare, models.ScopeMissedDoseAlerts)
	_, w.pendingInvitation = h.invite(t, w.patient, models.ScopeReadingAlerts)
	w.reportLink = h.reportLink(t, w.patient, 28, 1)
	return w
}

// The outcomes the matrix tells apart.
const (
	allowed      = "allowed" // past the policy (and audited unless it is the patient)
	refused404   = "404"     // not_found "patient not found"
	refused403   = "403"     // forbidden
	unauthorized = "401"     // no token
)

type persona struct {
	name   string
	caller func(w *matrixWorld, ra routeAccess) (account, bool) // false: no token
	expect func(ra routeAccess) string
}

func always(outcome string) func(routeAccess) string {
	return func(routeAccess) string { return outcome }
}

func fixed(pick func(w *matrixWorld) account) func(*matrixWorld, routeAccess) (account, bool) {
	return func(w *matrixWorld, _ routeAccess) (account, bool) { return pick(w), true }
}

var personas = []persona{
	{"another patient", fixed(func(w *matrixWorld) account { return w.otherPatient }), always(refused404)},
	{"carer with the scope", fixed(func(w *matrixWorld) account { return w.carerAll }), func(ra routeAccess) string {
		if ra.carerScope != "" || ra.anyCarer {
			return allowed
		}
		return refused403
	}},
	{"carer without it", func(w *matrixWorld, ra routeAccess) (account, bool) {
		if ra.carerScope == "" {
			return w.carerWithout[models.ScopeViewSummary], true
		}
		return w.carerWithout[ra.carerScope], true
	}, func(ra routeAccess) string {
		if ra.anyCarer {
			return allowed
		}
		return refused403
	}},
	{"paused carer", fixed(func(w *matrixWorld) account { return w.paused }), always(refused403)},
	{"revoked carer", fixed(func(w *matrixWorld) account { return w.revoked }), always(refused404)},
	{"pharmacist of the nominated pharmacy", fixed(func(w *matrixWorld) account { return w.pharmacistA }), func(ra routeAccess) string {
		if ra.pharmacist {
			return allowed
		}
		return refused403
	}},
	{"pharmacist of another pharmacy", fixed(func(w *matrixWorld) account { return w.pharmacistB }), always(refused404)},
	{"admin", fixed(func(w *matrixWorld) account { return w.admin }), always(refused404)},
	{"no token", func(*matrixWorld, routeAccess) (account, bool) { return account{}, false }, always(unauthorized)},
	// The patient goes last: their writes may change the world, which is
	// restored after each route.
	{"the patient", fixed(func(w *matrixWorld) account { return w.patient }), func(ra routeAccess) string {
		if ra.pharmacistOnly {
			return refused403
		}
		return allowed
	}},
}

// withdrawnPersona runs after the patient withdraws consent.
var withdrawnPersona = persona{"pharmacist after consent withdrawn", fixed(func(w *matrixWorld) account { return w.pharmacistA }), always(refused404)}

var routeParam = regexp.MustCompile(`:([A-Za-z]+)`)

// patientRoutes lists the registered routes under /v1/patients/:patientId.
func (h *harness) patientRoutes() []string {
	seen := map[string]bool{}
	var out []string
	for _, rt := range h.app.GetRoutes(true) {
		if rt.Method == http.MethodHead || rt.Method == http.MethodOptions || rt.Method == "USE" ||
			!strings.HasPrefix(rt.Path, "/v1/patients/:patientId/") {
			continue
		}
		k := rt.Method + " " + strings.TrimSuffix(rt.Path, "/")
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// TestAccessMatrix: every patient route × everyone who might ask → allowed
// or refused as the policy says, with an audit entry exactly when someone
// other than the patient is let through.
func TestAccessMatrix(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := newMatrixWorld(t, h)

	routes := h.patientRoutes()
	if len(routes) == 0 {
		t.Fatal("no patient routes registered")
	}
	var missing, stale []string
	for _, rt := range routes {
		if _, ok := accessTable[rt]; !ok {
			missing = append(missing, rt)
		}
	}
	for k := range accessTable {
		if !slices.Contains(routes, k) {
			stale = append(stale, k)
		}
	}
	sort.Strings(stale)
	if len(missing) > 0 || len(stale) > 0 {
		t.Fatalf("accessTable is out of step with the routes:\n  routes with no entry (add them): %v\n  entries with no route (remove them): %v", missing, stale)
	}

	for _, rt := range routes {
		ra := accessTable[rt]
		for _, p := range personas {
			h.checkAccess(t, w, rt, ra, p)
		}
		w.restore(t, h)
	}

	// The same pharmacist once the patient has withdrawn consent.
	if r := h.do(t, "DELETE", "/v1/patients/me/pharmacy", w.patient.Access, nil); r.status != 204 {
		t.Fatalf("withdraw: %d %s", r.status, r.body)
	}
	for _, rt := range routes {
		h.checkAccess(t, w, rt, accessTable[rt], withdrawnPersona)
	}
}

// checkAccess sends one route's request as one persona and checks the
// outcome and the audit log.
func (h *harness) checkAccess(t *testing.T, w *matrixWorld, rt string, ra routeAccess, p persona) {
	t.Helper()
	method, pattern, _ := strings.Cut(rt, " ")
	params := map[string]string{"patientId": w.patient.ID}
	if ra.params != nil {
		for k, v := range ra.params(w) {
			params[k] = v
		}
	}
	path := routeParam.ReplaceAllStringFunc(pattern, func(m string) string {
		if v, ok := params[m[1:]]; ok {
			return v
		}
		return "matrix-missing"
	})
	var body any
	switch {
	case ra.body != nil:
		body = ra.body(w)
	case method == "POST" || method == "PUT" || method == "PATCH":
		body = map[string]any{}
	}
	caller, hasToken := p.caller(w, ra)
	token := ""
	if hasToken {
		token = caller.Access
	}
	w.seq++
	reqID := fmt.Sprintf("matrix-%d", w.seq)
	before := h.auditCount(t, w.patient.ID)
	r := h.do(t, method, path, token, body, "X-Request-ID", reqID)
	after := h.auditCount(t, w.patient.ID)

	want := p.expect(ra)
	got := outcomeOf(t, r)
	where := fmt.Sprintf("%s as %s", rt, p.name)
	if got != want {
		t.Errorf("%s: got %s (%d %s), want %s", where, got, r.status, r.body, want)
		return
	}
	if p.name == "the patient" && ra.patientStatus != 0 && r.status != ra.patientStatus {
		t.Errorf("%s: status %d, want %d: %s", where, r.status, ra.patientStatus, r.body)
	}
	wantAudit := int64(0)
	if want == allowed && (p.name != "the patient" || ra.patientAudited) {
		wantAudit = 1
	}
	if after-before != wantAudit {
		t.Errorf("%s: %d audit entries written, want %d", where, after-before, wantAudit)
		return
	}
	if wantAudit == 1 {
		entries, err := h.store.Audit().List(t.Context(), w.patient.ID, "", 1)
		if err != nil {
			t.Fatal(err)
		}
		e := entries[0]
		wantResource := strings.TrimPrefix(path, "/v1/patients/"+w.patient.ID+"/")
		if e.ActorID != caller.ID || e.RequestID != reqID || e.Resource != wantResource || e.Action == "" || e.PatientID != w.patient.ID {
			t.Errorf("%s: audit entry %+v; want actor %s, request %s, resource %s", where, e, caller.ID, reqID, wantResource)
		}
	}
}

// outcomeOf classifies a response: a refusal by the policy is 404 with the
// detail "patient not found" or 403 forbidden; 401 is no token; anything
// else but a 5xx got past the policy (the handler may still reject the
// input or miss the resource: 400, 404 with another detail, 409).
func outcomeOf(t *testing.T, r response) string {
	t.Helper()
	switch {
	case r.status >= 500:
		return fmt.Sprintf("server error %d", r.status)
	case r.status == http.StatusUnauthorized:
		return unauthorized
	case r.status == http.StatusForbidden && r.problemCode(t) == "forbidden":
		return refused403
	case r.status == http.StatusNotFound && r.problemCode(t) == "not_found":
		var p struct{ Detail string }
		_ = json.Unmarshal(r.body, &p)
		if p.Detail == "patient not found" {
			return refused404
		}
	}
	return allowed
}

// restore undoes what the patient's request may have changed that later
// rows rely on: the nomination of pharmacy A.
func (w *matrixWorld) restore(t *testing.T, h *harness) {
	t.Helper()
	n, has, err := h.consents.Nomination(t.Context(), w.patient.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !has || n.PharmacyID != w.pharmacyA {
		h.nominate(t, w.patient, w.pharmacyA)
	}
}
