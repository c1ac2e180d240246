package services_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/internal/graphtest"
	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
	"github.com/concord-health/concord/store"
	"github.com/concord-health/concord/store/storetest"
)

// failingAudit is the real access log with writes that fail, as when the
// store is unreachable.
type failingAudit struct{ store.Audit }

func (failingAudit) Insert(context.Context, models.AuditEntry) error { return errors.New("disk full") }

// careWorld is a patient with one carer linked to view readings, in the
// graph run() builds (graphtest) with its clock stopped at now.
type careWorld struct {
	st             store.Store
	care           *services.Care
	access         *services.Access
	patient, carer models.User
	linkID         string
	now            time.Time
	clock          func() time.Time
	log            *slog.Logger
}

func newCareWorld(t *testing.T) *careWorld {
	t.Helper()
	ctx := t.Context()
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	g := graphtest.New(t, storetest.New(t), graphtest.NewClock(now), slog.New(slog.NewTextHandler(io.Discard, nil)), nil, graphtest.Options{})
	st := g.Store
	w := &careWorld{st: st, care: g.Care, access: g.Access, now: now, clock: g.Clock.Now, log: g.Log}
	users := []models.User{
		{ID: "patient-1", Name: "Ann Example", Role: models.RolePatient, Email: "ann@example.org"},
		{ID: "carer-1", Name: "Bob Carer", Role: models.RoleCarer, Email: "bob@example.org"},
	}
	for _, u := range users {
		if err := st.Users().Create(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	w.patient, w.carer = users[0], users[1]
	inv, err := w.care.Invite(ctx, w.patient.ID, []models.CareScope{models.ScopeViewReadings}, "")
	if err != nil {
		t.Fatal(err)
	}
	link, created, err := w.care.Accept(ctx, w.carer.ID, inv.Code)
	if err != nil || !created {
		t.Fatalf("accept: %v %v", created, err)
	}
	w.linkID = link.ID
	return w
}

// TestUnauditedAccessIsRefused: when the audit entry cannot be written the
// carer is refused; the patient, who is never audited, is not.
func TestUnauditedAccessIsRefused(t *testing.T) {
	t.Parallel()
	w := newCareWorld(t)
	ctx := models.WithRequestID(t.Context(), "req-1")
	working := w.access
	broken := services.NewAccess(w.st.Users(), w.st.Care(), w.st.Consents(), failingAudit{w.st.Audit()}, w.clock, w.log)
	carer := models.Principal{UserID: w.carer.ID, Role: models.RoleCarer}
	patient := models.Principal{UserID: w.patient.ID, Role: models.RolePatient}

	if _, err := working.Authorize(ctx, carer, w.patient.ID, services.ReadReadings); err != nil {
		t.Fatalf("working audit: %v", err)
	}
	_, err := broken.Authorize(ctx, carer, w.patient.ID, services.ReadReadings)
	if models.ErrorCode(err) != models.CodeInternal {
		t.Errorf("broken audit, carer: %v", err)
	}
	if _, err := broken.Authorize(ctx, patient, w.patient.ID, services.ReadReadings); err != nil {
		t.Errorf("broken audit, patient: %v", err)
	}
	entries, err := w.st.Audit().List(t.Context(), w.patient.ID, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []models.AuditEntry{{ID: entries[0].ID, PatientID: w.patient.ID, ActorID: w.carer.ID, ActorRole: models.RoleCarer,
		Action: "readings.read", Resource: "readings", At: w.now, RequestID: "req-1"}}
	if diff := cmp.Diff(want, entries); diff != "" {
		t.Errorf("audit entries (-want +got):\n%s", diff)
	}
}

// TestActiveCarers: only active links that share the scope hear of it.
func TestActiveCarers(t *testing.T) {
	t.Parallel()
	w := newCareWorld(t)
	ctx := t.Context()
	add := func(id string, scopes ...models.CareScope) string {
		t.Helper()
		if err := w.st.Users().Create(ctx, models.User{ID: id, Name: id, Role: models.RoleCarer, Email: id + "@example.org"}); err != nil {
			t.Fatal(err)
		}
		inv, err := w.care.Invite(ctx, w.patient.ID, scopes, "")
		if err != nil {
			t.Fatal(err)
		}
		l, _, err := w.care.Accept(ctx, id, inv.Code)
		if err != nil {
			t.Fatal(err)
		}
		return l.ID
	}
	add("alerts", models.ScopeMissedDoseAlerts, models.ScopeReadingAlerts)
	paused := add("paused", models.ScopeMissedDoseAlerts)
	revoked := add("revoked", models.ScopeMissedDoseAlerts)
	add("readings-only", models.ScopeReadingAlerts)
	yes := true
	if _, err := w.care.UpdateLink(ctx, w.patient.ID, paused, services.LinkChange{Paused: &yes}, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.care.RevokeLink(ctx, w.patient.ID, revoked, nil); err != nil {
		t.Fatal(err)
	}
	carersOf := func(scope models.CareScope) []string {
		t.Helper()
		links, err := w.care.ActiveCarers(ctx, w.patient.ID, scope)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, l := range links {
			out = append(out, l.CarerID)
		}
		return out
	}
	if diff := cmp.Diff([]string{"alerts"}, carersOf(models.ScopeMissedDoseAlerts)); diff != "" {
		t.Errorf("missed-dose alerts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"alerts", "readings-only"}, carersOf(models.ScopeReadingAlerts)); diff != "" {
		t.Errorf("reading alerts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{w.carer.ID}, carersOf(models.ScopeViewReadings)); diff != "" {
		t.Errorf("view readings (-want +got):\n%s", diff)
	}
}

// BenchmarkAuthorize measures one policy decision on the real store: the
// patient (one read), a carer (two reads and the audit insert), and a
// pharmacist (three reads and the audit insert).
func BenchmarkAuthorize(b *testing.B) {
	g := graphtest.New(b, storetest.New(b), graphtest.NewClock(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)), nil, nil, graphtest.Options{})
	st := g.Store
	ctx := b.Context()
	for _, u := range []models.User{
		{ID: "patient", Role: models.RolePatient, Email: "p@example.org"},
		{ID: "carer", Role: models.RoleCarer, Email: "c@example.org"},
		{ID: "pharmacist", Role: models.RolePharmacist, Email: "ph@example.org", PharmacyID: "pharmacy"},
	} {
		if err := st.Users().Create(ctx, u); err != nil {
			b.Fatal(err)
		}
	}
	if err := st.Pharmacies().Create(ctx, models.Pharmacy{ID: "pharmacy", ODSCode: "FA001", Name: "A", Postcode: "M1 1AE"}); err != nil {
		b.Fatal(err)
	}
	care := g.Care
	inv, err := care.Invite(ctx, "patient", []models.CareScope{models.ScopeViewReadings}, "")
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := care.Accept(ctx, "carer", inv.Code); err != nil {
		b.Fatal(err)
	}
	if _, err := g.Consents.Nominate(ctx, "patient", "pharmacy", true); err != nil {
		b.Fatal(err)
	}
	access := g.Access
	for _, who := range []models.Principal{
		{UserID: "patient", Role: models.RolePatient},
		{UserID: "carer", Role: models.RoleCarer},
		{UserID: "pharmacist", Role: models.RolePharmacist},
	} {
		b.Run(string(who.Role), func(b *testing.B) {
			for b.Loop() {
				if _, err := access.Authorize(ctx, who, "patient", services.ReadReadings); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestPharmacistOfAPharmacy: one check decides who is a pharmacist of a
// pharmacy, and the access policy and the review queue both follow it:
// the pharmacist of the nominated pharmacy reads the patient and has a
// queue; a pharmacist token whose account is gone, is not a pharmacist's
// or names no pharmacy gets neither (not_found from the policy, forbidden
// from the queue).
func TestPharmacistOfAPharmacy(t *testing.T) {
	t.Parallel()
	w := newFlagWorld(t)
	ctx := t.Context()
	w.user(t, "ph-none", "Pharmacist without a pharmacy", models.RolePharmacist, "")
	w.user(t, "carer-1", "Bob Carer", models.RoleCarer, "")
	tests := []struct {
		name string
		p    models.Principal
		want bool
	}{
		{"pharmacist of pharmacy A", w.phA, true},
		{"no pharmacy", models.Principal{UserID: "ph-none", Role: models.RolePharmacist}, false},
		{"account gone", models.Principal{UserID: "ph-gone", Role: models.RolePharmacist}, false},
		{"account is a carer's", models.Principal{UserID: "carer-1", Role: models.RolePharmacist}, false},
		{"a patient", models.Principal{UserID: w.patient.ID, Role: models.RolePatient}, false},
	}
	for _, tc := range tests {
		me, ok, err := w.access.Pharmacist(ctx, tc.p)
		if err != nil || ok != tc.want || (ok && (me.ID != tc.p.UserID || me.PharmacyID != w.pharmacyA)) {
			t.Errorf("%s: Pharmacist = %s %q, %v, %v; want %v", tc.name, me.ID, me.PharmacyID, ok, err, tc.want)
		}
		_, err = w.flags.List(ctx, tc.p, services.FlagListQuery{})
		if got := err == nil; got != tc.want || (!tc.want && models.ErrorCode(err) != models.CodeForbidden) {
			t.Errorf("%s: queue: %v", tc.name, err)
		}
		if tc.p.Role != models.RolePharmacist {
			continue
		}
		_, err = w.access.Authorize(ctx, tc.p, w.patient.ID, services.ReadReadings)
		if got := err == nil; got != tc.want || (!tc.want && models.ErrorCode(err) != models.CodeNotFound) {
			t.Errorf("%s: the nominated patient's readings: %v", tc.name, err)
		}
	}
}
