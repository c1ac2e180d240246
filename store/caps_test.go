package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store/storetest"
)

// The reads behind the caps on what a user can grow (services): each is
// bounded by its limit and reads one patient's or carer's records only.

func TestCountActiveMedications(t *testing.T) {
	t.Parallel()
	s := storetest.New(t).Medications()
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for i, patient := range []string{"p1", "p1", "p1", "p2"} {
		m := models.Medication{ID: fmt.Sprintf("m%d", i), PatientID: patient, Name: "Ramipril", Status: models.MedicationActive,
			Schedule: models.Schedule{Times: []string{"08:00"}, StartDate: "2026-12-01"}, CreatedAt: now, UpdatedAt: now}
		if err := s.Create(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Stop(ctx, "m0", now, time.Time{}); err != nil {
		t.Fatal(err)
	}
	for patient, want := range map[string]int{"p1": 2, "p2": 1, "p3": 0} {
		if got, err := s.CountActive(ctx, patient); err != nil || got != want {
			t.Errorf("%s: %d active (%v), want %d", patient, got, err, want)
		}
	}
}

// TestInvitationReads: Invitations pages newest first; PendingInvitations
// keeps only those neither accepted, revoked nor expired; InvitationByID
// finds the patient's own only.
func TestInvitationReads(t *testing.T) {
	t.Parallel()
	s := storetest.New(t).Care()
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for i, state := range []string{"expired", "pending", "accepted", "revoked", "pending", "other"} {
		patient := "p1"
		if state == "other" {
			patient = "p2"
		}
		created := now.Add(time.Duration(i-10) * time.Hour)
		inv := models.CareInvitation{CodeHash: fmt.Sprintf("hash-%d", i), ID: fmt.Sprintf("inv-%d", i), PatientID: patient,
			Scopes: []models.CareScope{models.ScopeViewSummary}, CreatedAt: created, ExpiresAt: created.Add(72 * time.Hour)}
		if state == "expired" {
			inv.ExpiresAt = now
		}
		if err := s.CreateInvitation(ctx, inv); err != nil {
			t.Fatal(err)
		}
		switch state {
		case "accepted":
			if ok, err := s.ClaimInvitation(ctx, inv.CodeHash, "c1", "link", now); err != nil || !ok {
				t.Fatalf("accept: %v %v", ok, err)
			}
		case "revoked":
			if ok, err := s.RevokeInvitation(ctx, patient, inv.ID, now); err != nil || !ok {
				t.Fatalf("revoke: %v %v", ok, err)
			}
		}
	}
	ids := func(invs []models.CareInvitation, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, inv := range invs {
			out = append(out, inv.ID)
		}
		return out
	}
	for _, c := range []struct {
		name string
		got  []string
		want []string
	}{
		{"newest 3", ids(s.Invitations(ctx, "p1", 3)), []string{"inv-4", "inv-3", "inv-2"}},
		{"all", ids(s.Invitations(ctx, "p1", 10)), []string{"inv-4", "inv-3", "inv-2", "inv-1", "inv-0"}},
		{"pending", ids(s.PendingInvitations(ctx, "p1", now, 10)), []string{"inv-4", "inv-1"}},
		{"pending, newest 1", ids(s.PendingInvitations(ctx, "p1", now, 1)), []string{"inv-4"}},
		{"pending once all expired", ids(s.PendingInvitations(ctx, "p1", now.Add(72*time.Hour), 10)), []string{}},
	} {
		if diff := cmp.Diff(c.want, c.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
	if inv, err := s.InvitationByID(ctx, "p1", "inv-2"); err != nil || inv.AcceptedBy != "c1" {
		t.Errorf("by id: %+v, %v", inv, err)
	}
	if _, err := s.InvitationByID(ctx, "p1", "inv-5"); !models.IsCode(err, models.CodeNotFound) {
		t.Errorf("another patient's invitation by id: %v, want not_found", err)
	}
}

// TestLinkReads: a patient's standing links oldest first, revoked ones
// newest first, and a carer's standing links, each up to its limit.
func TestLinkReads(t *testing.T) {
	t.Parallel()
	s := storetest.New(t).Care()
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	statuses := []string{models.LinkActive, models.LinkRevoked, models.LinkPaused, models.LinkRevoked, models.LinkActive, models.LinkRevoked}
	for i, status := range statuses {
		carer := fmt.Sprintf("c%d", i)
		l := models.CareLink{ID: models.CareLinkID("p1", carer), PatientID: "p1", CarerID: carer, Scopes: []models.CareScope{models.ScopeViewSummary},
			Status: models.LinkActive, InvitationID: "inv", CreatedAt: now.Add(time.Duration(i) * time.Minute), UpdatedAt: now}
		if err := s.PutLink(ctx, l); err != nil {
			t.Fatal(err)
		}
		switch status {
		case models.LinkPaused:
			if ok, err := s.UpdateLink(ctx, l.ID, nil, models.LinkPaused, now, time.Time{}); err != nil || !ok {
				t.Fatalf("pause: %v %v", ok, err)
			}
		case models.LinkRevoked:
			if ok, err := s.EndLink(ctx, l.ID, models.EndedByPatient, now, time.Time{}); err != nil || !ok {
				t.Fatalf("revoke: %v %v", ok, err)
			}
		}
	}
	// c0 also cares for two other patients, one of them no longer.
	for i, p := range []string{"p2", "p3"} {
		l := models.CareLink{ID: models.CareLinkID(p, "c0"), PatientID: p, CarerID: "c0", Scopes: []models.CareScope{models.ScopeViewSummary},
			Status: models.LinkActive, InvitationID: "inv", CreatedAt: now.Add(time.Duration(10+i) * time.Minute), UpdatedAt: now}
		if err := s.PutLink(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.EndLink(ctx, models.CareLinkID("p3", "c0"), models.EndedByCarer, now, time.Time{}); err != nil {
		t.Fatal(err)
	}
	ids := func(links []models.CareLink, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, l := range links {
			out = append(out, l.ID)
		}
		return out
	}
	for _, c := range []struct {
		name string
		got  []string
		want []string
	}{
		{"standing", ids(s.StandingLinks(ctx, "p1", 10)), []string{"p1:c0", "p1:c2", "p1:c4"}},
		{"standing, first 2", ids(s.StandingLinks(ctx, "p1", 2)), []string{"p1:c0", "p1:c2"}},
		{"revoked", ids(s.RevokedLinks(ctx, "p1", 10)), []string{"p1:c5", "p1:c3", "p1:c1"}},
		{"revoked, newest 2", ids(s.RevokedLinks(ctx, "p1", 2)), []string{"p1:c5", "p1:c3"}},
		{"carer's", ids(s.LinksOfCarer(ctx, "c0", 10)), []string{"p1:c0", "p2:c0"}},
		{"carer's, first 1", ids(s.LinksOfCarer(ctx, "c0", 1)), []string{"p1:c0"}},
		{"none", ids(s.StandingLinks(ctx, "p9", 10)), []string{}},
	} {
		if diff := cmp.Diff(c.want, c.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
}
