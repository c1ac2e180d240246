package web_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/concord-health/concord/internal/graphtest"
	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
	"github.com/concord-health/concord/store/storetest"
	"github.com/concord-health/concord/web"
)

func TestMain(m *testing.M) {
	code := storetest.Main(m)
	closeBrowser()
	os.Exit(code)
}

// siteStart is the clock's time when a site starts: Monday 30 November
// 2026, 09:00 in London.
var siteStart = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

const password = "correct horse battery staple"

// site is the whole Concord process (graphtest, as run() builds it) with
// the workspace served on a real listener, and a small world in its store:
// pharmacies A and B, a pharmacist of each, an administrator, patients of
// pharmacy A (Ann with flags, Bob without) and a carer of Ann's.
type site struct {
	g    *graphtest.Graph
	base string // "http://127.0.0.1:port"

	pharmacyA, pharmacyB string
	ann, bob             models.User
	// Accounts' e-mails.
	pharmacistA, pharmacistB, admin, carer, stranger string
}

func newSite(t testing.TB, opts ...func(*graphtest.Options)) *site {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	o := graphtest.Options{
		ServeWeb: true,
		Web:      func(c *web.Config) { c.PollInterval = time.Second },
	}
	for _, f := range opts {
		f(&o)
	}
	g := graphtest.New(t, storetest.New(t), graphtest.NewClock(siteStart), log, nil, o)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.App.Listener(ln) }()
	t.Cleanup(func() { _ = g.App.ShutdownWithTimeout(5 * time.Second) })
	s := &site{g: g, base: "http://" + ln.Addr().String()}
	s.seed(t)
	return s
}

func (s *site) seed(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	g := s.g
	for i, name := range []string{"High Street Pharmacy", "Station Road Pharmacy"} {
		p, err := g.Pharmacies.Create(ctx, []string{"FA001", "FB002"}[i], name, "SW1A 1AA")
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			s.pharmacyA = p.ID
		} else {
			s.pharmacyB = p.ID
		}
	}
	staff := func(email, name string, role models.Role, pharmacy string) string {
		if _, err := g.Auth.CreateUser(ctx, services.Registration{Email: email, Password: password, Name: name,
			Role: role, PharmacyID: pharmacy, Timezone: "Europe/London"}); err != nil {
			t.Fatal(err)
		}
		return email
	}
	s.pharmacistA = staff("priya@highstreet.example", "Priya Shah", models.RolePharmacist, s.pharmacyA)
	s.pharmacistB = staff("sam@stationroad.example", "Sam Cole", models.RolePharmacist, s.pharmacyB)
	s.admin = staff("admin@concord.example", "Ada Admin", models.RoleAdmin, "")
	s.ann = s.register(t, "ann@example.org", "Ann Example", models.RolePatient)
	s.bob = s.register(t, "bob@example.org", "Bob Example", models.RolePatient)
	s.carer = s.register(t, "carol@example.org", "Carol Carer", models.RoleCarer).Email
	s.stranger = s.register(t, "chris@example.org", "Chris Stranger", models.RoleCarer).Email
	for _, p := range []models.User{s.ann, s.bob} {
		if _, err := g.Consents.Nominate(ctx, p.ID, s.pharmacyA, true); err != nil {
			t.Fatal(err)
		}
	}

	// Ann, over the four weeks to today: a daily medicine from 9
	// November, taken on time on most days, late on some, skipped on one
	// and missed on others; blood pressure and glucose every other day,
	// ending this morning in a severe blood pressure and a hypo.
	clock := g.Clock
	clock.Set(siteStart.AddDate(0, 0, -28))
	_, _, err := g.Medications.Create(ctx, s.ann, services.NewMedication{Name: "Amlodipine", Strength: "5 mg",
		Schedule: models.Schedule{Times: []string{"08:00"}, StartDate: "2026-11-09"},
		Stock:    &models.Stock{Quantity: 30, UnitsPerDose: 1, RefillLeadDays: 7}})
	if err != nil {
		t.Fatal(err)
	}
	for day := 27; day >= 0; day-- {
		morning := siteStart.AddDate(0, 0, -day) // 09:00 UTC
		clock.Set(morning.Add(-55 * time.Minute))
		if day%2 == 1 {
			s.bp(t, s.ann, clock.Now(), float64(138+day%7), float64(86+day%5))
			s.glucose(t, s.ann, clock.Now().Add(-5*time.Minute), 5.2+float64(day%4)/2)
		}
		clock.Set(morning.Add(4 * time.Hour))
		doses, err := g.Doses.List(ctx, s.ann, services.DoseQuery{})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range doses {
			switch {
			case day%9 == 4:
				_, err = g.Doses.MarkSkipped(ctx, s.ann, d.ID, "")
			case day%5 == 2:
				_, err = g.Doses.MarkTaken(ctx, s.ann, d.ID, d.ScheduledAt.Add(3*time.Hour))
			case day%7 != 3:
				_, err = g.Doses.MarkTaken(ctx, s.ann, d.ID, d.ScheduledAt.Add(10*time.Minute))
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	clock.Set(siteStart.Add(-55 * time.Minute))
	s.bp(t, s.ann, clock.Now(), 186, 124)
	clock.Set(siteStart.Add(-40 * time.Minute))
	s.glucose(t, s.ann, clock.Now(), 3.4)
	clock.Set(siteStart)
}

func (s *site) register(t testing.TB, email, name string, role models.Role) models.User {
	t.Helper()
	res, err := s.g.Auth.Register(context.Background(), services.Registration{Email: email, Password: password, Name: name,
		Role: role, Timezone: "Europe/London"})
	if err != nil {
		t.Fatal(err)
	}
	return res.User
}

// bp stores a blood pressure through the readings service (flags hear).
func (s *site) bp(t testing.TB, patient models.User, at time.Time, sys, dia float64) {
	t.Helper()
	if _, _, err := s.g.Readings.Create(context.Background(), patient, models.Reading{Type: models.ReadingBloodPressure,
		Unit: "mm[Hg]", TakenAt: at, Systolic: &sys, Diastolic: &dia}); err != nil {
		t.Fatal(err)
	}
}

func (s *site) glucose(t testing.TB, patient models.User, at time.Time, v float64) {
	t.Helper()
	if _, _, err := s.g.Readings.Create(context.Background(), patient, models.Reading{Type: models.ReadingBloodGlucose,
		Unit: "mmol/L", TakenAt: at, Value: &v, Context: "fasting"}); err != nil {
		t.Fatal(err)
	}
}

// linkCarer links the carer's account to patient with scopes and returns
// the link.
func (s *site) linkCarer(t testing.TB, patient models.User, carerEmail string, scopes ...models.CareScope) models.CareLink {
	t.Helper()
	ctx := context.Background()
	inv, err := s.g.Care.Invite(ctx, patient.ID, scopes, "")
	if err != nil {
		t.Fatal(err)
	}
	carer, err := s.g.Store.Users().ByEmail(ctx, carerEmail)
	if err != nil {
		t.Fatal(err)
	}
	link, _, err := s.g.Care.Accept(ctx, carer.ID, inv.Code)
	if err != nil {
		t.Fatal(err)
	}
	return link
}

// browser is a plain HTTP client that keeps the workspace's cookies as a
// browser would (by name; they all have Path /app) and does not follow
// redirects, so tests see each response.
type browser struct {
	t       testing.TB
	s       *site
	cookies map[string]*http.Cookie
	// last is the latest response's body.
	last string
}

func (s *site) browser(t testing.TB) *browser {
	return &browser{t: t, s: s, cookies: map[string]*http.Cookie{}}
}

var client = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       30 * time.Second,
}

// do sends a request (form, if not nil, as a POST body) and returns the
// response with its body read into b.last.
func (b *browser) do(method, path string, form url.Values, header ...string) *http.Response {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.s.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	for _, c := range b.cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	res, err := client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	raw, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		b.t.Fatal(err)
	}
	b.last = string(raw)
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return res
}

func (b *browser) get(path string) *http.Response {
	b.t.Helper()
	return b.do(http.MethodGet, path, nil)
}

// post sends form with the page's form token (the csrf field of the
// latest page) unless form sets one.
func (b *browser) post(path string, form url.Values) *http.Response {
	b.t.Helper()
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.field("csrf"))
	}
	return b.do(http.MethodPost, path, form)
}

var inputValue = regexp.MustCompile(`<input type="hidden" name="([a-z]+)" value="([^"]*)">`)

// field returns the value of the latest page's first hidden field name.
func (b *browser) field(name string) string {
	b.t.Helper()
	for _, m := range inputValue.FindAllStringSubmatch(b.last, -1) {
		if m[1] == name {
			return m[2]
		}
	}
	b.t.Fatalf("no hidden field %q on the page:\n%s", name, b.last)
	return ""
}

// signIn signs in as email and checks that it landed on want.
func (b *browser) signIn(email, want string) {
	b.t.Helper()
	b.get("/app/sign-in")
	res := b.post("/app/sign-in", url.Values{"email": {email}, "password": {password}})
	if res.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("sign in as %s: status %d, want 303\n%s", email, res.StatusCode, b.last)
	}
	res = b.get(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
		b.t.Fatalf("after sign-in as %s: %d to %q, want 303 to %q", email, res.StatusCode, res.Header.Get("Location"), want)
	}
	if res := b.get(want); res.StatusCode != http.StatusOK {
		b.t.Fatalf("GET %s: %d\n%s", want, res.StatusCode, b.last)
	}
}

var patientLink = regexp.MustCompile(`href="(/app/(?:patients|care)/[A-Za-z0-9_-]+)">([^<]+)</a>`)

// linkTo returns the latest page's link to the patient or person name.
func (b *browser) linkTo(name string) string {
	b.t.Helper()
	for _, m := range patientLink.FindAllStringSubmatch(b.last, -1) {
		if m[2] == name {
			return m[1]
		}
	}
	b.t.Fatalf("no link to %q on the page:\n%s", name, b.last)
	return ""
}

func (b *browser) mustContain(texts ...string) {
	b.t.Helper()
	for _, text := range texts {
		if !strings.Contains(b.last, text) {
			b.t.Errorf("page lacks %q:\n%s", text, b.last)
		}
	}
}

func (b *browser) mustNotContain(texts ...string) {
	b.t.Helper()
	for _, text := range texts {
		if strings.Contains(b.last, text) {
			b.t.Errorf("page shows %q, which it must not", text)
		}
	}
}

// audited returns how many access-log entries of the patient name actor.
func (s *site) audited(t testing.TB, patientID, actorEmail string) int {
	t.Helper()
	ctx := context.Background()
	actor, err := s.g.Store.Users().ByEmail(ctx, actorEmail)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := s.g.Store.Audit().List(ctx, patientID, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.ActorID == actor.ID {
			n++
		}
	}
	return n
}

// openFlag returns the patient's live flag, failing if there is none.
func (s *site) openFlag(t testing.TB, patient models.User) models.Flag {
	t.Helper()
	flags, err := s.g.Store.Flags().Queue(context.Background(), models.FlagQuery{PharmacyID: s.pharmacyA,
		Statuses: []models.FlagStatus{models.FlagOpen, models.FlagClaimed}, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range flags {
		if f.PatientID == patient.ID {
			return f
		}
	}
	t.Fatalf("%s has no open flag", patient.Name)
	return models.Flag{}
}

// flag reads a flag as stored.
func (s *site) flag(t testing.TB, id string) models.Flag {
	t.Helper()
	f, err := s.g.Store.Flags().Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
