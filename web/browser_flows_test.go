package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
	"github.com/concord-health/concord/store/storetest"
)

// TestBrowser drives the workspace in Chromium on one site, in order: the
// pharmacist's day, a carer's view, then refusals (which withdraw consent
// and expire the session, so they come last).
//
// It runs on the SQLite backend only: what the browser adds (rendering,
// the script, CSP, cookies, accessibility) is the same on both backends,
// and every flow it drives is also tested over HTTP on both (the other
// tests of this package).
func TestBrowser(t *testing.T) {
	if storetest.Backend() != storetest.SQLite {
		t.Skip("the browser tests run on the SQLite backend; the HTTP tests cover these flows on both")
	}
	needBrowser(t)
	s := newSite(t)
	t.Run("pharmacist", func(t *testing.T) { browserPharmacist(t, s) })
	t.Run("carer", func(t *testing.T) { browserCarer(t, s) })
	t.Run("refusals", func(t *testing.T) { browserRefusals(t, s) })
}

// browserPharmacist: a pharmacist signs in, reads the queue, opens
// the patient, claims the flag, adds a note, is told what is missing from
// an incomplete resolution, resolves it with an outcome, and sees a new
// flag arrive in the queue without reloading it. Every page passes axe at
// 360 px and on a desktop.
func browserPharmacist(t *testing.T, s *site) {
	flag := s.openFlag(t, s.ann)
	p := s.open(t, "pharmacist")
	p.goTo("/app/sign-in")
	p.checkA11y("sign-in")
	p.signIn(s.pharmacistA)
	if got := p.path(); got != "/app/queue" {
		t.Fatalf("after sign-in: %s, want /app/queue", got)
	}
	p.sees("Review queue", "Ann Example", "BP 186/124 mmHg at 08:05 on Mon 30 Nov", "Urgent clinical advice")
	p.checkA11y("queue")
	p.screenshot("queue.png", 1280, 900)

	// A new flag arrives while the queue is open: no reload.
	eval[bool](p, `window.notReloaded = true`)
	s.bp(t, s.bob, siteStart.Add(-time.Minute), 194, 128)
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("queue-results").innerText.includes("Bob Example")`,
		chromedp.WithPollingInterval(100*time.Millisecond)))
	cancel()
	if err != nil {
		t.Fatalf("Bob's new flag did not appear in the open queue: %v\n%s", err, p.text())
	}
	if !eval[bool](p, `window.notReloaded === true`) {
		t.Error("the queue reloaded the whole page to show the new flag")
	}
	p.sees("The queue has been updated: 1 more flag.", "BP 194/128 mmHg")

	p.do("open Ann", chromedp.Click(chromedp.Search(`//a[text()="Ann Example"]`), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.ID("flags-heading")))
	p.sees("Open flags", "Claim this flag", "Blood pressure", "Home average", "Blood glucose", "Doses, day by day", "Amlodipine", "Runs out")
	p.checkA11y("patient")
	p.screenshot("patient.png", 1280, 900)
	p.screenshot("patient-360.png", 360, 740)

	p.submit(`form[action="/app/flags/claim"] button`)
	p.sees("You have claimed the flag.", "Claimed by you")
	p.do("write a note", chromedp.SendKeys(chromedp.ID("text-flag-1"), "Phoned Ann: rechecked 180/118, advised GP today."))
	p.submit(`form[action="/app/flags/note"] button`)
	p.sees("Your note has been added.", "Phoned Ann: rechecked 180/118")

	if res := p.submit(`form[action="/app/flags/resolve"] button`); res.Status != 422 {
		t.Fatalf("resolve without an outcome: %d, want 422", res.Status)
	}
	p.sees("There is a problem")
	p.checkA11y("patient, resolution refused")
	p.do("fill in the resolution",
		chromedp.SetValue(chromedp.ID("outcome-flag-1"), "referred_to_gp"),
		chromedp.SendKeys(chromedp.ID("note-flag-1"), "Referred to GP for same-day review."),
		chromedp.SetValue(chromedp.ID("followup-flag-1"), "2026-12-07"))
	p.submit(`form[action="/app/flags/resolve"] button`)
	p.sees("The flag is resolved.")
	if f := s.flag(t, flag.ID); f.Status != models.FlagResolved || f.Outcome != models.OutcomeReferredToGP || f.FollowUpAt == nil {
		t.Fatalf("stored flag after the browser resolved it: %s %s %v", f.Status, f.Outcome, f.FollowUpAt)
	}

	p.goTo("/app/patients")
	p.sees("Ann Example", "Bob Example")
	p.checkA11y("patients")
	p.do("search", chromedp.SendKeys(chromedp.ID("q"), "bob"))
	p.submit(`form[action="/app/patients"] button`)
	p.sees("Bob Example")
	p.doesNotSee("Ann Example")
}

// browserCarer: a carer sees the people they care for and, for each,
// only what the patient shares.
func browserCarer(t *testing.T, s *site) {
	link := s.linkCarer(t, s.ann, s.carer, models.ScopeReadingAlerts, models.ScopeViewSummary, models.ScopeViewReadings)
	c := s.open(t, "carer")
	c.signIn(s.carer)
	if got := c.path(); got != "/app/care" {
		t.Fatalf("after sign-in: %s, want /app/care", got)
	}
	c.sees("People you care for", "Ann", "Alerts about dangerous readings, A summary, Readings")
	c.checkA11y("care")
	c.do("open Ann", chromedp.Click(chromedp.Search(`//a[text()="Ann"]`), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.ID("bp-heading")))
	c.sees("Blood pressure", "Latest readings", "does not share with you: medicines and doses")
	c.doesNotSee("Doses, day by day", "Amlodipine", "Claim this flag", "Open flags")
	c.checkA11y("care person")
	c.screenshot("carer.png", 1280, 900)

	// The patient narrows the scopes: the same page now shows less.
	scopes := []models.CareScope{models.ScopeViewSummary}
	if _, err := s.g.Care.UpdateLink(context.Background(), s.ann.ID, link.ID, services.LinkChange{Scopes: &scopes}, nil); err != nil {
		t.Fatal(err)
	}
	c.do("reload", chromedp.Reload())
	c.sees("Latest readings")
	c.doesNotSee("Blood pressure", "Blood glucose", "Amlodipine")
}

// browserRefusals: a forged form token, another pharmacy's pharmacist,
// a withdrawn consent and an expired session, as a browser meets them.
func browserRefusals(t *testing.T, s *site) {
	flag := s.openFlag(t, s.bob) // raised while the pharmacist's queue was open
	a := s.open(t, "pharmacist A")
	a.signIn(s.pharmacistA)
	a.do("open Bob", chromedp.Click(chromedp.Search(`//a[text()="Bob Example"]`), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.ID("flags-heading")))
	bob := a.path()

	// A form whose token was tampered with changes nothing.
	eval[bool](a, `document.querySelector('form[action="/app/flags/claim"] input[name=csrf]').value = "forged"; true`)
	if res := a.submit(`form[action="/app/flags/claim"] button`); res.Status != 403 {
		t.Fatalf("claim with a forged token: %d, want 403", res.Status)
	}
	a.sees("This form could not be accepted")
	a.checkA11y("refused form")
	if f := s.flag(t, flag.ID); f.Status != models.FlagOpen {
		t.Fatalf("flag after a forged claim: %s, want open", f.Status)
	}

	// Pharmacy B's pharmacist, with A's link, sees nothing of Bob.
	b := s.open(t, "pharmacist B")
	b.signIn(s.pharmacistB)
	b.sees("There are no flags to review")
	if res := b.goTo(bob); res.Status != 404 {
		t.Fatalf("pharmacy B opening Bob's page: %d, want 404", res.Status)
	}
	b.sees("Page not found")
	b.doesNotSee("Bob Example", "194/128")

	// Bob withdraws consent: his page closes for pharmacy A too.
	if err := s.g.Consents.Withdraw(context.Background(), s.bob.ID); err != nil {
		t.Fatal(err)
	}
	if res := a.goTo(bob); res.Status != 404 {
		t.Fatalf("Bob's page after withdrawal: %d, want 404", res.Status)
	}
	a.doesNotSee("194/128")
	a.goTo("/app/queue")
	a.doesNotSee("Bob Example")

	// The session expires: the next page asks for the password again.
	s.g.Clock.Advance(services.WebSessionTTL)
	a.goTo("/app/queue")
	if got := a.path(); got != "/app/sign-in" {
		t.Fatalf("after expiry: %s, want the sign-in page", got)
	}
	a.sees("Your session has ended. Sign in again to carry on.")

	// An administrator's page, and the sign-in page with errors.
	admin := s.open(t, "admin")
	admin.signIn(s.admin)
	admin.sees("You are signed in as an administrator.")
	admin.checkA11y("admin")
	admin.goTo("/app/queue")
	admin.sees("You cannot do this")

	// The check can fail: a page with an image without a text
	// alternative and a button without a name does.
	eval[bool](admin, `document.querySelector("main").insertAdjacentHTML("beforeend", '<img src="/app/static/favicon.svg"><button></button>'); true`)
	if found := admin.axe(); len(found) < 2 {
		t.Fatalf("axe found %q on a page with an unnamed image and button, want both", found)
	}
	other := s.open(t, "stranger")
	other.goTo("/app/sign-in")
	other.do("wrong password", chromedp.SendKeys(chromedp.ID("email"), s.pharmacistA), chromedp.SendKeys(chromedp.ID("password"), "wrong password"))
	other.submit(`form[action="/app/sign-in"] button`)
	other.sees("There is a problem", "The e-mail address or password is wrong")
	other.checkA11y("sign-in, refused")
}
