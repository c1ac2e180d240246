package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// TestFlagOpenToResolved: a pharmacist claims a flag, notes it, is told
// what is wrong with an incomplete resolution, and resolves it with an
// outcome and a follow-up date; the store holds each step, done by them,
// and the patient's access log has their looks.
func TestFlagOpenToResolved(t *testing.T) {
	s := newSite(t)
	flag := s.openFlag(t, s.ann)
	b := s.browser(t)
	b.signIn(s.pharmacistA, "/app/queue")
	b.mustContain("BP 186/124 mmHg at 08:05 on Mon 30 Nov", "Urgent clinical advice", "Open")
	patient := b.linkTo("Ann Example")
	b.get(patient)
	b.mustContain("Claim this flag", "Home average", "Hypo line 4 mmol/L", "Amlodipine", "Runs out")
	handle := b.field("flag")

	res := b.post("/app/flags/claim", url.Values{"flag": {handle}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("claim: %d\n%s", res.StatusCode, b.last)
	}
	b.get(res.Header.Get("Location"))
	b.mustContain("You have claimed the flag.", "Claimed by you")
	b.mustNotContain("Claim this flag")
	if f := s.flag(t, flag.ID); f.Status != models.FlagClaimed || f.ClaimedBy == "" {
		t.Fatalf("after claim: %+v", f)
	}

	res = b.post("/app/flags/note", url.Values{"flag": {handle}, "text": {"Phoned Ann: rechecked at 180/118, advised to see GP today."}})
	b.get(res.Header.Get("Location"))
	b.mustContain("Your note has been added.", "Phoned Ann: rechecked at 180/118")

	res = b.post("/app/flags/resolve", url.Values{"flag": {handle}, "outcome": {""}, "note": {""}})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("resolve without an outcome: %d, want 422", res.StatusCode)
	}
	b.mustContain("There is a problem", `href="#outcome"`)
	if f := s.flag(t, flag.ID); f.Status != models.FlagClaimed {
		t.Fatalf("after a refused resolution: %s, want claimed", f.Status)
	}
	res = b.post("/app/flags/resolve", url.Values{"flag": {handle}, "outcome": {"referred_to_gp"},
		"note": {"Referred to GP for same-day review."}, "followUp": {"2026-12-07"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("resolve: %d\n%s", res.StatusCode, b.last)
	}
	b.get(res.Header.Get("Location"))
	b.mustContain("The flag is resolved.")
	f := s.flag(t, flag.ID)
	if f.Status != models.FlagResolved || f.Outcome != models.OutcomeReferredToGP || f.ResolvedBy != f.ClaimedBy || f.FollowUpAt == nil ||
		f.FollowUpAt.Format("2006-01-02 15:04") != "2026-12-07 09:00" {
		t.Fatalf("after resolve: status %s outcome %s by %q (claimed by %q) follow-up %v", f.Status, f.Outcome, f.ResolvedBy, f.ClaimedBy, f.FollowUpAt)
	}
	b.get("/app/queue?status=resolved")
	b.mustContain("Resolved, follow-up due")
	if n := s.audited(t, s.ann.ID, s.pharmacistA); n == 0 {
		t.Fatal("the pharmacist's looks at Ann are not in her access log")
	}
}

// TestQueueVersion: the poll answer moves when a flag is raised, and says
// nothing else.
func TestQueueVersion(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)
	b.signIn(s.pharmacistA, "/app/queue")
	b.mustNotContain("Bob Example")
	b.get("/app/queue/version")
	before := b.last
	if !strings.HasPrefix(before, `{"version":"`) || len(before) > 40 {
		t.Fatalf("version answer %q", before)
	}
	b.get("/app/queue/version")
	if b.last != before {
		t.Fatalf("version moved with nothing raised: %q then %q", before, b.last)
	}
	s.bp(t, s.bob, siteStart.Add(-time.Minute), 192, 126)
	b.get("/app/queue/version")
	if b.last == before {
		t.Fatal("version did not move when Bob's flag was raised")
	}
	b.get("/app/queue")
	b.mustContain("Bob Example", "BP 192/126 mmHg")
}

// TestAccessCases: another pharmacy's pharmacist, a patient whose consent
// ended, and a handle from another session open nothing.
func TestAccessCases(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	a, other := s.browser(t), s.browser(t)
	a.signIn(s.pharmacistA, "/app/queue")
	ann := a.linkTo("Ann Example")
	a.get("/app/patients")
	bob := a.linkTo("Bob Example")

	// Pharmacy B's pharmacist sees neither patient, even with A's links.
	other.signIn(s.pharmacistB, "/app/queue")
	other.mustNotContain("Ann Example")
	other.mustContain("There are no flags to review")
	other.get("/app/patients")
	other.mustNotContain("Ann Example", "Bob Example")
	before := s.audited(t, s.ann.ID, s.pharmacistB)
	for _, link := range []string{ann, bob} {
		if res := other.get(link); res.StatusCode != http.StatusNotFound {
			t.Errorf("pharmacy B opening A's link: %d, want 404", res.StatusCode)
		}
		other.mustNotContain("Ann Example", "186/124")
	}
	if after := s.audited(t, s.ann.ID, s.pharmacistB); after != before {
		t.Errorf("pharmacy B's refused look was audited as an access (%d entries, was %d)", after, before)
	}

	// Bob withdraws consent: his page, and his place in the list, go.
	if res := a.get(bob); res.StatusCode != http.StatusOK {
		t.Fatalf("Bob's page with consent: %d", res.StatusCode)
	}
	if err := s.g.Consents.Withdraw(ctx, s.bob.ID); err != nil {
		t.Fatal(err)
	}
	if res := a.get(bob); res.StatusCode != http.StatusNotFound {
		t.Fatalf("Bob's page after withdrawal: %d, want 404", res.StatusCode)
	}
	a.mustNotContain("Bob Example")
	a.get("/app/patients")
	a.mustNotContain("Bob Example")
	a.mustContain("Ann Example")

	// Ann withdraws: her flag leaves the queue and her page goes.
	if err := s.g.Consents.Withdraw(ctx, s.ann.ID); err != nil {
		t.Fatal(err)
	}
	a.get("/app/queue")
	a.mustNotContain("Ann Example")
	if res := a.get(ann); res.StatusCode != http.StatusNotFound {
		t.Fatalf("Ann's page after withdrawal: %d, want 404", res.StatusCode)
	}
	// Anything forged or from elsewhere is not found.
	for _, path := range []string{"/app/patients/" + s.ann.ID, "/app/patients/AAAA", "/app/queue?after=" + s.ann.ID} {
		if res := a.get(path); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, res.StatusCode)
		}
	}
}

// TestCarerScopes walks each scope a patient can grant: the carer's page
// of the patient shows what the scope shares and nothing else; a paused
// link shows nothing, and a revoked one, or a carer never linked, opens
// nothing.
func TestCarerScopes(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	link := s.linkCarer(t, s.ann, s.carer, models.ScopeViewSummary)
	b := s.browser(t)
	b.signIn(s.carer, "/app/care")
	b.mustContain("Ann", "A summary")
	person := b.linkTo("Ann")

	// What each scope shows, by a text only it brings.
	parts := map[models.CareScope][]string{
		models.ScopeViewSummary:     {"Latest readings", "Took 18 of 22 doses"},
		models.ScopeViewReadings:    {"bp-heading", "Home average", "Hypo line"},
		models.ScopeViewMedications: {"adherence-heading", "Amlodipine", "Runs out"},
	}
	for _, scope := range models.CareScopes {
		scopes := []models.CareScope{scope}
		if _, err := s.g.Care.UpdateLink(ctx, s.ann.ID, link.ID, services.LinkChange{Scopes: &scopes}, nil); err != nil {
			t.Fatal(err)
		}
		if res := b.get(person); res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", scope, res.StatusCode)
		}
		for other, texts := range parts {
			if other == scope {
				b.mustContain(texts...)
			} else {
				b.mustNotContain(texts...)
			}
		}
		if _, shows := parts[scope]; !shows {
			b.mustContain("does not share with you")
			b.mustNotContain("186/124", "Amlodipine", "Took 18")
		}
	}

	paused := true
	if _, err := s.g.Care.UpdateLink(ctx, s.ann.ID, link.ID, services.LinkChange{Paused: &paused}, nil); err != nil {
		t.Fatal(err)
	}
	b.get(person)
	b.mustContain("has paused sharing with you")
	b.mustNotContain("186/124", "Amlodipine", "Latest readings")

	stranger := s.browser(t)
	stranger.signIn(s.stranger, "/app/care")
	stranger.mustContain("You do not care for anyone yet")
	if res := stranger.get(person); res.StatusCode != http.StatusNotFound {
		t.Errorf("unlinked carer with the carer's link: %d, want 404", res.StatusCode)
	}

	if err := s.g.Care.RevokeLink(ctx, s.ann.ID, link.ID, nil); err != nil {
		t.Fatal(err)
	}
	if res := b.get(person); res.StatusCode != http.StatusNotFound {
		t.Fatalf("after the link is revoked: %d, want 404", res.StatusCode)
	}
	b.get("/app/care")
	b.mustNotContain(`">Ann</a>`)
}

// TestQueueFilters: the queue filters by severity, reason and status, and
// refuses values it does not know without showing anything.
func TestQueueFilters(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)
	b.signIn(s.pharmacistA, "/app/queue")
	for _, c := range []struct {
		query string
		shows bool
	}{
		{"?severity=severe", true},
		{"?severity=moderate", false},
		{"?rule=severe_reading", true},
		{"?rule=low_adherence", false},
		{"?status=open", true},
		{"?status=resolved", false},
		{"?severity=severe&rule=severe_reading&status=open", true},
	} {
		if res := b.get("/app/queue" + c.query); res.StatusCode != http.StatusOK {
			t.Fatalf("queue%s: %d", c.query, res.StatusCode)
		}
		if c.shows {
			b.mustContain("Ann Example", "BP 186/124 mmHg")
		} else {
			b.mustNotContain("Ann Example")
			b.mustContain("There are no flags to review that match these filters")
		}
	}
	for _, q := range []string{"?status=bogus", "?severity=%00", "?rule=nope"} {
		res := b.get("/app/queue" + q)
		if res.StatusCode < 400 || res.StatusCode >= 500 {
			t.Errorf("queue%s: %d, want a 4xx page", q, res.StatusCode)
		}
		b.mustNotContain("Ann Example")
	}
}
