package services_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/concord-health/concord/internal/graphtest"
	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
	"github.com/concord-health/concord/store"
	"github.com/concord-health/concord/store/storetest"
)

// careStart is the care tests' clock.
var careStart = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// careEnv is the care circle of the graph run() builds (graphtest) on a
// fresh store, with a patient, Ann.
type careEnv struct {
	st      store.Store
	clock   *graphtest.Clock
	care    *services.Care
	patient models.User
}

func newCareEnv(t *testing.T) *careEnv {
	t.Helper()
	g := graphtest.New(t, storetest.New(t), graphtest.NewClock(careStart), quietLog(), nil, graphtest.Options{})
	e := &careEnv{st: g.Store, clock: g.Clock, care: g.Care}
	e.patient = e.user(t, "ann", models.RolePatient)
	return e
}

func (e *careEnv) user(t *testing.T, id string, role models.Role) models.User {
	t.Helper()
	u := models.User{ID: id, Email: id + "@example.org", Name: "User " + id, Role: role, Timezone: "Europe/London", CreatedAt: careStart, UpdatedAt: careStart}
	if err := e.st.Users().Create(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// link stores a link straight into the store, created minute minutes
// after careStart, revoked or not.
func (e *careEnv) link(t *testing.T, patientID, carerID string, minute int, revoked bool) {
	t.Helper()
	ctx := context.Background()
	at := careStart.Add(time.Duration(minute) * time.Minute)
	l := models.CareLink{ID: models.CareLinkID(patientID, carerID), PatientID: patientID, CarerID: carerID,
		Scopes: []models.CareScope{models.ScopeViewSummary}, Status: models.LinkActive, InvitationID: "inv", CreatedAt: at, UpdatedAt: at}
	if err := e.st.Care().PutLink(ctx, l); err != nil {
		t.Fatal(err)
	}
	if revoked {
		if _, err := e.st.Care().EndLink(ctx, l.ID, models.EndedByPatient, at, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
}

// wantCap fails unless err is the conflict of a full cap on field.
func wantCap(t *testing.T, what string, err error, field string) {
	t.Helper()
	if models.ErrorCode(err) != models.CodeConflict || !slices.Equal(fieldsOf(err), []string{field}) {
		t.Errorf("%s: %v, want conflict naming %s", what, err, field)
	}
}

// TestPendingInvitationsCapped: a patient may have MaxPendingInvitations
// pending invitations; one more is refused, and room comes back when one
// is withdrawn, accepted or expires.
func TestPendingInvitationsCapped(t *testing.T) {
	t.Parallel()
	e := newCareEnv(t)
	ctx := context.Background()
	scopes := []models.CareScope{models.ScopeViewSummary}
	var invs []services.NewInvitation
	for range services.MaxPendingInvitations {
		inv, err := e.care.Invite(ctx, e.patient.ID, scopes, "")
		if err != nil {
			t.Fatal(err)
		}
		invs = append(invs, inv)
	}
	_, err := e.care.Invite(ctx, e.patient.ID, scopes, "")
	wantCap(t, "one invitation too many", err, "invitations")

	if err := e.care.RevokeInvitation(ctx, e.patient.ID, invs[0].Invitation.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.care.Invite(ctx, e.patient.ID, scopes, ""); err != nil {
		t.Errorf("after withdrawing one: %v", err)
	}
	carer := e.user(t, "cara", models.RoleCarer)
	if _, _, err := e.care.Accept(ctx, carer.ID, invs[1].Code); err != nil {
		t.Fatal(err)
	}
	if _, err := e.care.Invite(ctx, e.patient.ID, scopes, ""); err != nil {
		t.Errorf("after one was accepted: %v", err)
	}
	_, err = e.care.Invite(ctx, e.patient.ID, scopes, "")
	wantCap(t, "full again", err, "invitations")
	e.clock.Advance(models.InvitationTTL)
	if _, err := e.care.Invite(ctx, e.patient.ID, scopes, ""); err != nil {
		t.Errorf("once they expired: %v", err)
	}
}

// TestCarersPerPatientCapped: a patient may have MaxCarersPerPatient
// carers (active or paused); past it Invite is refused, and so is
// accepting an invitation made before, without spending its code; a
// carer already linked may accept a new invitation (it replaces the
// link); revoking a link makes room.
func TestCarersPerPatientCapped(t *testing.T) {
	t.Parallel()
	e := newCareEnv(t)
	ctx := context.Background()
	scopes := []models.CareScope{models.ScopeViewSummary}
	for i := range services.MaxCarersPerPatient - 1 {
		e.link(t, e.patient.ID, fmt.Sprintf("carer-%02d", i), i, false)
	}
	e.link(t, e.patient.ID, "gone", 99, true) // revoked links do not count
	early, err := e.care.Invite(ctx, e.patient.ID, scopes, "")
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.care.Invite(ctx, e.patient.ID, scopes, "") // for carer-00, already linked
	if err != nil {
		t.Fatal(err)
	}
	e.link(t, e.patient.ID, "carer-last", 100, false)
	_, err = e.care.Invite(ctx, e.patient.ID, scopes, "")
	wantCap(t, "invite past the cap", err, "carers")

	newcomer := e.user(t, "newcomer", models.RoleCarer)
	_, _, err = e.care.Accept(ctx, newcomer.ID, early.Code)
	wantCap(t, "accept past the cap", err, "carers")
	if inv, err := e.st.Care().InvitationByID(ctx, e.patient.ID, early.Invitation.ID); err != nil || inv.AcceptedAt != nil {
		t.Errorf("the refused code was spent: %+v, %v", inv, err)
	}
	if _, created, err := e.care.Accept(ctx, "carer-00", again.Code); err != nil || !created {
		t.Errorf("a linked carer accepting anew at the cap: %v, %v", created, err)
	}

	if err := e.care.RevokeLink(ctx, e.patient.ID, models.CareLinkID(e.patient.ID, "carer-01"), nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.care.Accept(ctx, newcomer.ID, early.Code); err != nil {
		t.Errorf("accept once a link was revoked: %v", err)
	}
}

// TestPatientsPerCarerCapped: a carer may care for MaxPatientsPerCarer
// patients; accepting one more is refused.
func TestPatientsPerCarerCapped(t *testing.T) {
	t.Parallel()
	e := newCareEnv(t)
	ctx := context.Background()
	carer := e.user(t, "cara", models.RoleCarer)
	for i := range services.MaxPatientsPerCarer {
		e.link(t, fmt.Sprintf("patient-%03d", i), carer.ID, i, false)
	}
	inv, err := e.care.Invite(ctx, e.patient.ID, []models.CareScope{models.ScopeViewSummary}, "")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = e.care.Accept(ctx, carer.ID, inv.Code)
	wantCap(t, "one patient too many", err, "patients")
	if err := e.care.Leave(ctx, carer.ID, "patient-000"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.care.Accept(ctx, carer.ID, inv.Code); err != nil {
		t.Errorf("accept after leaving one: %v", err)
	}
}

// TestCareListsCapped: the invitations list shows MaxInvitationsListed,
// every pending one (however old) and then the newest; the links list
// shows MaxLinksListed, every standing link and then the newest revoked
// ones, oldest first.
func TestCareListsCapped(t *testing.T) {
	t.Parallel()
	e := newCareEnv(t)
	ctx := context.Background()
	// Two pending invitations, then more withdrawn ones than the list holds.
	var pending []string
	for i := range services.MaxInvitationsListed + 5 {
		at := careStart.Add(time.Duration(i) * time.Minute)
		inv := models.CareInvitation{CodeHash: fmt.Sprintf("hash-%02d", i), ID: fmt.Sprintf("inv-%02d", i), PatientID: e.patient.ID,
			Scopes: []models.CareScope{models.ScopeViewSummary}, CreatedAt: at, ExpiresAt: at.Add(models.InvitationTTL)}
		if err := e.st.Care().CreateInvitation(ctx, inv); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			pending = append(pending, inv.ID)
			continue
		}
		if _, err := e.st.Care().RevokeInvitation(ctx, e.patient.ID, inv.ID, at); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(time.Hour)
	invs, err := e.care.Invitations(ctx, e.patient.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(invs) != services.MaxInvitationsListed {
		t.Fatalf("%d invitations listed, want %d", len(invs), services.MaxInvitationsListed)
	}
	listed := func(id string) bool {
		return slices.ContainsFunc(invs, func(inv models.CareInvitation) bool { return inv.ID == id })
	}
	newest := fmt.Sprintf("inv-%02d", services.MaxInvitationsListed+4)
	if !listed(pending[0]) || !listed(pending[1]) || !listed(newest) || invs[0].ID != newest {
		t.Errorf("listed %v...; want the newest first and both pending ones", invs[0].ID)
	}
	if invs[len(invs)-1].Status != models.InvitationPending {
		t.Errorf("the oldest listed is %s (%s), want a pending one", invs[len(invs)-1].ID, invs[len(invs)-1].Status)
	}

	// Two standing links, the oldest, then more revoked ones than fit.
	e.link(t, e.patient.ID, "first", 0, false)
	e.link(t, e.patient.ID, "second", 1, false)
	for i := range services.MaxLinksListed {
		e.link(t, e.patient.ID, fmt.Sprintf("revoked-%02d", i), 10+i, true)
	}
	links, err := e.care.Links(ctx, e.patient.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range links {
		got = append(got, l.CarerID)
	}
	if len(got) != services.MaxLinksListed || got[0] != "first" || got[1] != "second" || got[2] != "revoked-02" ||
		got[len(got)-1] != fmt.Sprintf("revoked-%02d", services.MaxLinksListed-1) {
		t.Errorf("links listed: %v; want both standing ones, then the newest revoked, oldest first", got)
	}
}
