package sqlite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
	"github.com/concord-health/concord/store/sqlite"
	"github.com/concord-health/concord/store/storetest"
)

// The seeded store of TestReadsUseIndexes: liteSeedPatients patients, each
// with liteSeedReadings readings (every other one a heart rate, every
// hundredth deleted) and two medications of liteSeedDoses hourly doses
// each (the first liteSeedTaken taken, the rest pending); the first
// patient also has notifications, devices, flags, a carer, consent, audit
// entries and a session.
const (
	liteSeedPatients = 4
	liteSeedReadings = 1000
	liteSeedDoses    = 500
	liteSeedTaken    = 400
	liteSeedNotes    = 30
	liteSeedAudit    = 25
)

func litePatientID(p int) string { return fmt.Sprintf("patient-%d", p) }

func liteMedicationID(p, m int) string { return fmt.Sprintf("medication-%d-%d", p, m) }

// liteSeedReading is the i-th reading of patient p.
func liteSeedReading(p, i int) models.Reading {
	r := sqlite.LiteReading(litePatientID(p), p*liteSeedReadings+i)
	if i%2 == 1 {
		r.Type, r.Unit, r.Canonical.Unit, r.LOINC = models.ReadingHeartRate, "/min", "/min", "8867-4"
	}
	return r
}

// liteSeed fills s as the constants above say.
func liteSeed(t *testing.T, s store.Store) {
	t.Helper()
	ctx := context.Background()
	at := sqlite.LiteEpoch
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("seed %s: %v", what, err)
		}
	}
	for _, ph := range []models.Pharmacy{
		{ID: "pharmacy-1", ODSCode: "FA001", Name: "Boots Lite Street", Postcode: "LS1 1AA", PostcodeKey: "LS11AA", CreatedAt: at},
		{ID: "pharmacy-2", ODSCode: "FB002", Name: "Well Pharmacy", Postcode: "M1 2BB", PostcodeKey: "M12BB", CreatedAt: at},
	} {
		must("pharmacy", s.Pharmacies().Create(ctx, ph))
	}
	users := []models.User{
		{ID: "carer-1", Email: "carer@example.org", Name: "Cara", Role: models.RoleCarer},
		{ID: "pharmacist-1", Email: "pharmacist@example.org", Name: "Phil", Role: models.RolePharmacist, PharmacyID: "pharmacy-1"},
	}
	for p := range liteSeedPatients {
		users = append(users, models.User{ID: litePatientID(p), Email: fmt.Sprintf("patient%d@example.org", p), Name: "Pat", Role: models.RolePatient})
	}
	for _, u := range users {
		u.Timezone, u.CreatedAt, u.UpdatedAt, u.PasswordChangedAt = "Europe/London", at, at, at
		must("user", s.Users().Create(ctx, u))
	}

	for p := range liteSeedPatients {
		patient := litePatientID(p)
		readings := make([]models.Reading, liteSeedReadings)
		for i := range readings {
			readings[i] = liteSeedReading(p, i)
		}
		_, err := s.Readings().InsertMany(ctx, readings)
		must("readings", err)
		for i := 0; i < liteSeedReadings; i += 100 {
			must("deleted reading", s.Readings().SoftDelete(ctx, patient, readings[i].ID, at))
		}

		var doses []models.Dose
		for m := range 2 {
			med := models.Medication{ID: liteMedicationID(p, m), PatientID: patient, Name: "Metformin", Status: models.MedicationActive,
				Schedule: models.Schedule{Times: []string{"08:00"}, StartDate: "2026-03-01"}, CreatedAt: at.Add(time.Duration(m) * time.Second), UpdatedAt: at}
			must("medication", s.Medications().Create(ctx, med))
			for i := range liteSeedDoses {
				d := models.Dose{ID: fmt.Sprintf("dose-%d-%d-%d", p, m, i), PatientID: patient, MedicationID: med.ID,
					ScheduledAt: at.Add(time.Duration(i) * time.Hour), LocalDate: "2026-03-01", LocalTime: "08:00",
					Status: models.DosePending, CreatedAt: at, UpdatedAt: at}
				if i < liteSeedTaken {
					taken := d.ScheduledAt.Add(time.Minute)
					d.Status, d.TakenAt = models.DoseTaken, &taken
				}
				doses = append(doses, d)
			}
		}
		n, err := s.Doses().InsertMissing(ctx, doses)
		must("doses", err)
		if n != len(doses) {
			t.Fatalf("seed doses: stored %d of %d", n, len(doses))
		}
	}
	_, err := s.Medications().Stop(ctx, liteMedicationID(0, 1), at, time.Time{})
	must("stopped medication", err)
	_, err = s.Doses().SwapDosePlan(ctx, liteMedicationID(0, 0), litePatientID(0), "", "fingerprint-1", at.Add(24*time.Hour))
	must("dose plan", err)

	for i := range liteSeedNotes {
		due := at.Add(time.Duration(i) * time.Minute)
		_, _, err := s.Notifications().Enqueue(ctx, models.Notification{ID: fmt.Sprintf("notification-%02d", i), RecipientID: litePatientID(0),
			PatientID: litePatientID(0), Kind: models.KindDoseReminder, Title: "Dose due", Body: "Metformin", DueAt: due,
			State: models.NotificationPending, NextAttemptAt: due, CreatedAt: at})
		must("notification", err)
	}
	for i := range 2 {
		token := fmt.Sprintf("push-token-%d", i)
		must("device", s.Devices().Put(ctx, models.Device{ID: models.DeviceID(token), UserID: litePatientID(0), Platform: models.PlatformAndroid,
			Token: token, TokenHint: "…" + token[len(token)-2:], CreatedAt: at, LastSeenAt: at.Add(time.Duration(i) * time.Hour)}))
	}

	followUp := at.Add(7 * 24 * time.Hour)
	for seq, f := range []models.Flag{
		{Status: models.FlagOpen, Severity: models.SeverityHigh},
		{Status: models.FlagResolved, Severity: models.SeverityModerate, FollowUpAt: &followUp},
		{Status: models.FlagClosed, Severity: models.SeverityLow},
	} {
		f.ID, f.PatientID, f.PharmacyID, f.Rule, f.Seq = models.FlagID(litePatientID(0), models.RuleLowAdherence, seq+1), litePatientID(0), "pharmacy-1", models.RuleLowAdherence, seq+1
		f.QueuedAt, f.CreatedAt, f.UpdatedAt = at.Add(time.Duration(seq)*time.Hour), at, at
		must("flag", s.Flags().Insert(ctx, f))
	}
	must("flag slot", s.Flags().RecordSeq(ctx, litePatientID(0), models.RuleLowAdherence, 3))
	for i, st := range []models.EpisodeStatus{models.EpisodeActive, models.EpisodeActive, models.EpisodeCompleted} {
		next := at.Add(time.Duration(i) * 24 * time.Hour)
		must("service episode", s.Services().Insert(ctx, models.ServiceEpisode{ID: fmt.Sprintf("episode-%d", i), PatientID: litePatientID(0),
			PharmacyID: "pharmacy-1", Service: models.ServiceKindNMS, Status: st, NextDue: &next, CreatedAt: at.Add(time.Duration(i) * time.Minute), UpdatedAt: at}))
	}

	scopes := []models.CareScope{models.ScopeViewReadings, models.ScopeReadingAlerts}
	must("invitation", s.Care().CreateInvitation(ctx, models.CareInvitation{CodeHash: "code-hash-1", ID: "invitation-1", PatientID: litePatientID(0),
		Scopes: scopes, CreatedAt: at, ExpiresAt: at.Add(48 * time.Hour)}))
	must("care link", s.Care().PutLink(ctx, models.CareLink{ID: models.CareLinkID(litePatientID(0), "carer-1"), PatientID: litePatientID(0),
		CarerID: "carer-1", Scopes: scopes, Status: models.LinkActive, InvitationID: "invitation-1", CreatedAt: at, UpdatedAt: at}))

	must("report link", s.ReportLinks().Create(ctx, models.ReportLink{TokenHash: "report-hash-1", ID: "report-link-1", PatientID: litePatientID(0),
		Days: 28, CreatedAt: at, ExpiresAt: at.Add(24 * time.Hour)}))

	must("consent", s.Consents().Insert(ctx, models.Consent{ID: "consent-1", PatientID: litePatientID(0), PharmacyID: "pharmacy-1",
		GrantedBy: litePatientID(0), GrantedAt: at, TextVersion: "v1"}))
	_, err = s.Consents().SwapNomination(ctx, "", models.Nomination{PatientID: litePatientID(0), PharmacyID: "pharmacy-1", ConsentID: "consent-1", GrantedAt: at})
	must("nomination", err)

	for i := range liteSeedAudit {
		must("audit entry", s.Audit().Insert(ctx, models.AuditEntry{ID: fmt.Sprintf("audit-%03d", i), PatientID: litePatientID(0),
			ActorID: "carer-1", ActorRole: models.RoleCarer, Action: "read", Resource: "readings", At: at.Add(time.Duration(i) * time.Second)}))
	}
	must("session", s.Sessions().Create(ctx, models.Session{ID: "session-1", UserID: litePatientID(0), CreatedAt: at}))
	must("refresh token", s.Sessions().AddToken(ctx, models.RefreshToken{Hash: "token-hash-1", SessionID: "session-1", UserID: litePatientID(0),
		CreatedAt: at, ExpiresAt: at.Add(24 * time.Hour)}))
}

// liteN is the size of a result, for a table of calls that return
// different types.
func liteN[T any](items []T, err error) (int, error) { return len(items), err }

// liteFound is 1 when a lookup found its record.
func liteFound[T any](_ T, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	return 1, nil
}

// TestReadsUseIndexes calls every read of every repository (and Claim,
// whose UPDATE selects what it claims) on a seeded store with StrictPlans
// on, so each statement's query plan is checked before it runs: none may
// scan a whole table of patients' records. Each call's result is checked
// too, so a statement that ran proves what it read.
func TestReadsUseIndexes(t *testing.T) {
	t.Parallel()
	s := storetest.NewSQLite(t, sqlite.Options{})
	liteSeed(t, s)
	ctx := context.Background()
	at := sqlite.LiteEpoch
	p0 := litePatientID(0)
	r0 := liteSeedReading(0, 501) // live: every hundredth is deleted
	minutes := func(n int) time.Time { return at.Add(time.Duration(n) * time.Minute) }
	hours := func(n int) time.Time { return at.Add(time.Duration(n) * time.Hour) }
	live := liteSeedReadings - liteSeedReadings/100

	tests := []struct {
		name string
		call func() (int, error)
		want int
	}{
		{"Readings.Lookup", func() (int, error) { return liteFound(s.Readings().Lookup(ctx, r0.ID)) }, 1},
		{"Readings.LookupMany", func() (int, error) {
			got, err := s.Readings().LookupMany(ctx, []string{r0.ID, liteSeedReading(1, 1).ID, liteSeedReading(3, 999).ID, "missing"})
			return len(got), err
		}, 3},
		{"Readings.Get", func() (int, error) { return liteFound(s.Readings().Get(ctx, p0, r0.ID)) }, 1},
		{"Readings.List page", func() (int, error) {
			return liteN(s.Readings().List(ctx, models.ReadingQuery{PatientID: p0, Limit: 50}))
		}, 50},
		{"Readings.List of a type", func() (int, error) {
			return liteN(s.Readings().List(ctx, models.ReadingQuery{PatientID: p0, Type: models.ReadingWeight, Limit: 2000}))
		}, liteSeedReadings/2 - liteSeedReadings/100},
		{"Readings.List in a range", func() (int, error) {
			return liteN(s.Readings().List(ctx, models.ReadingQuery{PatientID: p0, From: minutes(100), To: minutes(200), Limit: 2000}))
		}, 99},
		{"Readings.List after a key", func() (int, error) {
			key := r0.Key()
			return liteN(s.Readings().List(ctx, models.ReadingQuery{PatientID: p0, After: &key, Limit: 2000}))
		}, 495},
		{"Readings.List of a type after a key", func() (int, error) {
			key := r0.Key()
			return liteN(s.Readings().List(ctx, models.ReadingQuery{PatientID: p0, Type: models.ReadingHeartRate, After: &key, Limit: 2000}))
		}, 250},
		{"Readings.List all", func() (int, error) {
			return liteN(s.Readings().List(ctx, models.ReadingQuery{PatientID: p0, Limit: 2000}))
		}, live},
		{"Readings.Range", func() (int, error) {
			return liteN(s.Readings().Range(ctx, p0, models.ReadingHeartRate, at, minutes(liteSeedReadings)))
		}, liteSeedReadings / 2},

		{"Medications.Get", func() (int, error) { return liteFound(s.Medications().Get(ctx, liteMedicationID(0, 0))) }, 1},
		{"Medications.ListByPatient", func() (int, error) { return liteN(s.Medications().ListByPatient(ctx, p0)) }, 2},
		{"Medications.ListActive", func() (int, error) { return liteN(s.Medications().ListActive(ctx)) }, 2*liteSeedPatients - 1},
		{"Medications.CountActive", func() (int, error) { return s.Medications().CountActive(ctx, p0) }, 1},

		{"Doses.Get", func() (int, error) { return liteFound(s.Doses().Get(ctx, "dose-0-0-7")) }, 1},
		{"Doses.ListByPatient", func() (int, error) { return liteN(s.Doses().ListByPatient(ctx, p0, hours(100), hours(110))) }, 20},
		{"Doses.ListByMedication", func() (int, error) {
			return liteN(s.Doses().ListByMedication(ctx, liteMedicationID(1, 0), at, hours(liteSeedDoses)))
		}, liteSeedDoses},
		{"Doses.ListPendingDue", func() (int, error) { return liteN(s.Doses().ListPendingDue(ctx, p0, hours(449))) }, 100},
		{"Doses.ListPendingBefore", func() (int, error) { return liteN(s.Doses().ListPendingBefore(ctx, hours(449), 1000)) }, 100 * liteSeedPatients},
		{"Doses.ListPendingBefore limited", func() (int, error) { return liteN(s.Doses().ListPendingBefore(ctx, hours(liteSeedDoses), 50)) }, 50},
		{"Doses.DosePlan", func() (int, error) {
			fingerprint, _, err := s.Doses().DosePlan(ctx, liteMedicationID(0, 0))
			return len(fingerprint), err
		}, len("fingerprint-1")},

		{"Notifications.Get", func() (int, error) { return liteFound(s.Notifications().Get(ctx, "notification-03")) }, 1},
		{"Notifications.Queued", func() (int, error) { return liteFound(s.Notifications().Queued(ctx, "notification-03")) }, 1},
		{"Notifications.Inbox", func() (int, error) { return liteN(s.Notifications().Inbox(ctx, p0, minutes(100), nil, 100)) }, liteSeedNotes},
		{"Notifications.Inbox after a key", func() (int, error) {
			return liteN(s.Notifications().Inbox(ctx, p0, minutes(100), &models.InboxKey{DueAt: minutes(10), ID: "notification-10"}, 100))
		}, 10},
		{"Notifications.Claim", func() (int, error) {
			return liteN(s.Notifications().Claim(ctx, minutes(100), "lease-1", "worker-1", time.Minute, 12))
		}, 12},

		{"Devices.Get", func() (int, error) { return liteFound(s.Devices().Get(ctx, models.DeviceID("push-token-1"))) }, 1},
		{"Devices.ForUser", func() (int, error) { return liteN(s.Devices().ForUser(ctx, p0)) }, 2},
		{"Devices.ForUsers", func() (int, error) { return liteN(s.Devices().ForUsers(ctx, []string{p0, litePatientID(1)})) }, 2},

		{"Flags.Get", func() (int, error) {
			return liteFound(s.Flags().Get(ctx, models.FlagID(p0, models.RuleLowAdherence, 1)))
		}, 1},
		{"Flags.LatestSeq", func() (int, error) { return s.Flags().LatestSeq(ctx, p0, models.RuleLowAdherence) }, 3},
		{"Flags.LiveOfPatient", func() (int, error) { return liteN(s.Flags().LiveOfPatient(ctx, p0, "")) }, 2},
		{"Flags.LiveOfPatient of a pharmacy", func() (int, error) { return liteN(s.Flags().LiveOfPatient(ctx, p0, "pharmacy-2")) }, 0},
		{"Flags.DueFollowUps", func() (int, error) { return liteN(s.Flags().DueFollowUps(ctx, "", hours(24*8))) }, 1},
		{"Flags.DueFollowUps of a pharmacy", func() (int, error) { return liteN(s.Flags().DueFollowUps(ctx, "pharmacy-1", hours(24*8))) }, 1},
		{"Flags.Queue", func() (int, error) {
			return liteN(s.Flags().Queue(ctx, models.FlagQuery{PharmacyID: "pharmacy-1", Limit: 10}))
		}, 3},
		{"Flags.Queue filtered", func() (int, error) {
			return liteN(s.Flags().Queue(ctx, models.FlagQuery{PharmacyID: "pharmacy-1", Statuses: []models.FlagStatus{models.FlagOpen},
				Severities: []models.Severity{models.SeverityHigh}, Rules: []models.FlagRuleID{models.RuleLowAdherence}, Limit: 10}))
		}, 1},
		{"Flags.Queue after a key", func() (int, error) {
			first := models.FlagKey{SeverityRank: models.SeverityHigh.Rank(), QueuedAt: at, ID: models.FlagID(p0, models.RuleLowAdherence, 1)}
			return liteN(s.Flags().Queue(ctx, models.FlagQuery{PharmacyID: "pharmacy-1", After: &first, Limit: 10}))
		}, 2},

		{"Care.Invitation", func() (int, error) { return liteFound(s.Care().Invitation(ctx, "code-hash-1")) }, 1},
		{"Care.Invitations", func() (int, error) { return liteN(s.Care().Invitations(ctx, p0, 10)) }, 1},
		{"Care.PendingInvitations", func() (int, error) { return liteN(s.Care().PendingInvitations(ctx, p0, at, 10)) }, 1},
		{"Care.PendingInvitations once expired", func() (int, error) { return liteN(s.Care().PendingInvitations(ctx, p0, hours(48), 10)) }, 0},
		{"Care.InvitationByID", func() (int, error) { return liteFound(s.Care().InvitationByID(ctx, p0, "invitation-1")) }, 1},
		{"Care.Link", func() (int, error) { return liteFound(s.Care().Link(ctx, models.CareLinkID(p0, "carer-1"))) }, 1},
		{"Care.StandingLinks", func() (int, error) { return liteN(s.Care().StandingLinks(ctx, p0, 10)) }, 1},
		{"Care.RevokedLinks", func() (int, error) { return liteN(s.Care().RevokedLinks(ctx, p0, 10)) }, 0},
		{"Care.LinksOfCarer", func() (int, error) { return liteN(s.Care().LinksOfCarer(ctx, "carer-1", 10)) }, 1},
		{"Care.ActiveLinks with the scope", func() (int, error) { return liteN(s.Care().ActiveLinks(ctx, p0, models.ScopeReadingAlerts)) }, 1},
		{"Care.ActiveLinks without it", func() (int, error) { return liteN(s.Care().ActiveLinks(ctx, p0, models.ScopeMissedDoseAlerts)) }, 0},

		{"ReportLinks.ByTokenHash", func() (int, error) { return liteFound(s.ReportLinks().ByTokenHash(ctx, "report-hash-1")) }, 1},
		{"ReportLinks.Get", func() (int, error) { return liteFound(s.ReportLinks().Get(ctx, p0, "report-link-1")) }, 1},
		{"ReportLinks.OfPatient", func() (int, error) { return liteN(s.ReportLinks().OfPatient(ctx, p0, 10)) }, 1},
		{"ReportLinks.CountLive", func() (int, error) { return s.ReportLinks().CountLive(ctx, p0, at) }, 1},
		{"ReportLinks.CountLive once expired", func() (int, error) { return s.ReportLinks().CountLive(ctx, p0, hours(24)) }, 0},
		{"ReportLinks.PurgeExpired of none", func() (int, error) { return s.ReportLinks().PurgeExpired(ctx, at, 10) }, 0},

		{"Consents.Consent", func() (int, error) { return liteFound(s.Consents().Consent(ctx, "consent-1")) }, 1},
		{"Consents.History", func() (int, error) { return liteN(s.Consents().History(ctx, p0)) }, 1},
		{"Consents.Nomination", func() (int, error) { return liteFound(s.Consents().Nomination(ctx, p0)) }, 1},
		{"Consents.Nominations", func() (int, error) { return liteN(s.Consents().Nominations(ctx, "")) }, 1},
		{"Consents.Nominations of a pharmacy", func() (int, error) { return liteN(s.Consents().Nominations(ctx, "pharmacy-1")) }, 1},

		{"Pharmacies.Get", func() (int, error) { return liteFound(s.Pharmacies().Get(ctx, "pharmacy-2")) }, 1},
		{"Pharmacies.Exists", func() (int, error) {
			ok, err := s.Pharmacies().Exists(ctx, "pharmacy-2")
			return map[bool]int{true: 1}[ok], err
		}, 1},
		{"Pharmacies.Search all", func() (int, error) { return liteN(s.Pharmacies().Search(ctx, "", 10)) }, 2},
		{"Pharmacies.Search by name", func() (int, error) { return liteN(s.Pharmacies().Search(ctx, "lite st", 10)) }, 1},
		{"Pharmacies.Search by postcode", func() (int, error) { return liteN(s.Pharmacies().Search(ctx, "m1 2", 10)) }, 1},

		{"Audit.List", func() (int, error) { return liteN(s.Audit().List(ctx, p0, "", 10)) }, 10},
		{"Audit.List before an entry", func() (int, error) { return liteN(s.Audit().List(ctx, p0, "audit-010", 100)) }, 10},
		{"Audit.Count", func() (int, error) {
			n, err := s.Audit().Count(ctx, p0)
			return int(n), err
		}, liteSeedAudit},

		{"Users.Get", func() (int, error) { return liteFound(s.Users().Get(ctx, p0)) }, 1},
		{"Users.ByEmail", func() (int, error) { return liteFound(s.Users().ByEmail(ctx, "carer@example.org")) }, 1},
		{"Users.GetMany", func() (int, error) { return liteN(s.Users().GetMany(ctx, []string{p0, "carer-1", "missing"})) }, 2},
		{"Users.CountByRole", func() (int, error) {
			n, err := s.Users().CountByRole(ctx, models.RolePatient)
			return int(n), err
		}, liteSeedPatients},

		{"Services.Get", func() (int, error) { return liteFound(s.Services().Get(ctx, "episode-1")) }, 1},
		{"Services.OfPatient", func() (int, error) { return liteN(s.Services().OfPatient(ctx, p0, 10)) }, 3},
		{"Services.Queue", func() (int, error) {
			return liteN(s.Services().Queue(ctx, models.ServiceEpisodeQuery{PharmacyID: "pharmacy-1", Limit: 10}))
		}, 2},
		{"Services.Queue after a place", func() (int, error) {
			return liteN(s.Services().Queue(ctx, models.ServiceEpisodeQuery{PharmacyID: "pharmacy-1", AfterDue: &at, AfterID: "episode-0", Limit: 10}))
		}, 1},
		{"Services.Replace", func() (int, error) {
			e, err := s.Services().Get(ctx, "episode-2")
			if err != nil {
				return 0, err
			}
			ok, err := s.Services().Replace(ctx, e, e.Version)
			return map[bool]int{true: 1}[ok], err
		}, 1},

		{"Sessions.Get", func() (int, error) { return liteFound(s.Sessions().Get(ctx, "session-1")) }, 1},
		{"Sessions.Token", func() (int, error) { return liteFound(s.Sessions().Token(ctx, "token-hash-1")) }, 1},
	}
	// Export reads every kind whole, in batches smaller than the largest.
	for _, kind := range store.Kinds {
		tests = append(tests, struct {
			name string
			call func() (int, error)
			want int
		}{"Export " + string(kind), func() (int, error) {
			n := 0
			err := s.Export(ctx, kind, 700, func(records []any) error { n += len(records); return nil })
			return n, err
		}, liteKindCount(t, s, kind)})
	}

	// The retention purges, last: they delete what the reads above read.
	// A notification finished long ago goes; the seeded session's only
	// token expired a day before `before`, so it goes with its session.
	tests = append(tests, []struct {
		name string
		call func() (int, error)
		want int
	}{
		{"Notifications.PurgeFinished", func() (int, error) {
			n := models.Notification{ID: "notification-00", State: models.NotificationSent, NextAttemptAt: at}
			if err := s.Notifications().Finish(ctx, n); err != nil {
				return 0, err
			}
			return s.Notifications().PurgeFinished(ctx, minutes(100), 10)
		}, 1},
		{"Sessions.PurgeEnded", func() (int, error) { return s.Sessions().PurgeEnded(ctx, hours(48), 10) }, 2},
		{"Sessions.PurgeEnded of revoked sessions", func() (int, error) {
			if err := s.Sessions().Create(ctx, models.Session{ID: "session-2", UserID: p0, CreatedAt: at}); err != nil {
				return 0, err
			}
			if err := s.Sessions().Revoke(ctx, "session-2", "logout", at); err != nil {
				return 0, err
			}
			return s.Sessions().PurgeEnded(ctx, hours(48), 10)
		}, 1},
	}...)

	// In order, not in parallel: Claim changes what Queued reads.
	for _, tt := range tests {
		got, err := tt.call()
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
}

// liteKindCount returns how many records of kind s holds, at least one.
func liteKindCount(t *testing.T, s store.Copier, kind store.Kind) int {
	t.Helper()
	n, err := s.Count(context.Background(), kind)
	if err != nil {
		t.Fatalf("count %s: %v", kind, err)
	}
	if n == 0 {
		t.Fatalf("the seeded store holds no %s", kind)
	}
	return int(n)
}
