package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/store"
	"github.com/concord-health/concord/store/mongodb"
	"github.com/concord-health/concord/store/sqlite"
	"github.com/concord-health/concord/store/storetest"
)

// These tests run the data commands (concord backup, concord migrate) as an
// operator would: against data directories that the real service filled
// through its HTTP API, checking afterwards what the service serves.

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

func TestBackupWhileServing(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	in := start(t, baseEnv(dir))
	const email, password = "bo@example.org", "a long enough password"
	patient := in.register(t, email, password)

	// Uploaded before the backup: the restored copy must hold all of them.
	before := dataReadingIDs(1, 12)
	dataUploadBatch(t, in, patient.AccessToken, before, 120)

	// Written while the backup runs, one at a time by another client:
	// the copy is consistent, so of these it holds exactly those sent
	// before some instant, i.e. a prefix of what was sent, and at least
	// every one acknowledged before the backup began.
	w := dataStartWriter(in, patient.AccessToken, 2)
	acked := w.waitAcked(t, 2)

	file := filepath.Join(t.TempDir(), "concord-backup.db")
	var out bytes.Buffer
	err := command(ctx, []string{"backup", file}, env(baseEnv(dir)), &out)
	sentBefore := w.sentCount()
	during := w.stop(t)
	if err != nil {
		t.Fatalf("backup while serving = %v, want nil", err)
	}
	info, err := os.Stat(file)
	if err != nil {
		t.Fatalf("backup wrote no file: %v", err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("backup file mode %v, want 0600: it holds every patient's records", perm)
	}
	for _, want := range []string{file, fmt.Sprintf("(%d bytes", info.Size()), "integrity checked"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("backup printed %q; want it to say %q", out.String(), want)
		}
	}

	// Written after the backup: not in it.
	after := dataReadingIDs(3, 5)
	dataUploadBatch(t, in, patient.AccessToken, after, 110)
	if got := dataListReadings(t, in, patient.AccessToken); len(got) != len(before)+len(during)+len(after) {
		t.Fatalf("the serving instance lists %d readings, want %d", len(got), len(before)+len(during)+len(after))
	}

	// Refused backups change nothing and write nothing.
	saved, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := command(ctx, []string{"backup", file}, env(baseEnv(dir)), io.Discard); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("backup to an existing file = %v, want an error saying it exists", err)
	}
	if again, _ := os.ReadFile(file); !bytes.Equal(again, saved) {
		t.Errorf("a refused backup changed the existing file")
	}
	other := filepath.Join(t.TempDir(), "other.db")
	mongoVars := baseEnv(dir)
	mongoVars["MONGODB_URI"] = "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=500"
	if err := command(ctx, []string{"backup", other}, env(mongoVars), io.Discard); err == nil || !strings.Contains(err.Error(), "mongodump") {
		t.Errorf("backup with MONGODB_URI set = %v, want an error pointing to MongoDB's own tools (mongodump)", err)
	}
	for _, args := range [][]string{{"backup"}, {"backup", other, "extra"}, {"backup", "--help"}, {"backup", "-o", other}} {
		if err := command(ctx, args, env(baseEnv(dir)), io.Discard); err == nil || !strings.HasPrefix(err.Error(), "usage: concord backup FILE") {
			t.Errorf("concord %s = %v, want the usage", strings.Join(args, " "), err)
		}
	}
	if _, err := os.Stat(other); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused backup created %s (stat: %v)", other, err)
	}
	if err := in.stop(t); err != nil {
		t.Fatalf("run = %v, want nil", err)
	}

	// Restore as the README says: the backup becomes concord.db of a new
	// data directory.
	restored := t.TempDir()
	if err := os.WriteFile(filepath.Join(restored, sqlite.FileName), saved, 0o600); err != nil {
		t.Fatal(err)
	}
	again := start(t, baseEnv(restored))
	login := again.login(t, email, password)
	if login.User.ID != patient.User.ID {
		t.Fatalf("restored: the patient logs in as %q, want %q", login.User.ID, patient.User.ID)
	}
	got := dataListReadings(t, again, login.AccessToken)
	have := map[string]bool{}
	for _, r := range got {
		have[r.ID] = true
	}
	var missing []string
	for _, id := range before {
		if !have[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		t.Errorf("restored: %d readings uploaded before the backup are missing: %v", len(missing), missing)
	}
	n := 0 // the prefix of the concurrent writes the copy holds
	for n < len(during) && have[during[n]] {
		n++
	}
	for _, id := range during[n:] {
		if have[id] {
			t.Errorf("restored: reading %s is in the copy but %s, sent before it, is not: the copy is not one instant", id, during[n])
		}
	}
	if n < acked || n > sentBefore {
		t.Errorf("restored: the copy holds the first %d of the concurrent writes; want between %d (acknowledged before the backup began) and %d (sent before it returned)", n, acked, sentBefore)
	}
	for _, id := range after {
		if have[id] {
			t.Errorf("restored: reading %s, uploaded after the backup, is in it", id)
		}
	}
	if want := len(before) + n; len(got) != want {
		t.Errorf("restored: %d readings, want %d (%d before the backup, the first %d written during it)", len(got), want, len(before), n)
	}
	t.Logf("%d readings written during the backup, %d acknowledged before it began, %d sent before it returned; the copy holds the first %d", len(during), acked, sentBefore, n)
	if err := again.stop(t); err != nil {
		t.Fatalf("run on the restored copy = %v, want nil", err)
	}
}

// TestMigrateRoundTrip moves a database that the service filled through its
// API into MongoDB and back, and checks that every record of every kind
// came back exactly as it left, and that the service runs on the result.
func TestMigrateRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	s := dataScenario(t, dir)

	uri := storetest.MongoURI(t)
	dbName := storetest.DatabaseName()
	dataDropAtEnd(t, uri, dbName)

	// Out to MongoDB, and back into a new data directory.
	var out bytes.Buffer
	if err := command(ctx, []string{"migrate", "--to-mongodb", uri}, env(map[string]string{"CONCORD_DATA_DIR": dir, "CONCORD_DB_NAME": dbName}), &out); err != nil {
		t.Fatalf("migrate --to-mongodb = %v, want nil\noutput:\n%s", err, &out)
	}
	t.Logf("migrate --to-mongodb:\n%s", &out)
	back := filepath.Join(t.TempDir(), "back")
	out.Reset()
	if err := command(ctx, []string{"migrate", "--from-mongodb", uri}, env(map[string]string{"CONCORD_DATA_DIR": back, "CONCORD_DB_NAME": dbName}), &out); err != nil {
		t.Fatalf("migrate --from-mongodb = %v, want nil\noutput:\n%s", err, &out)
	}

	original := dataExportSQLite(t, dir)
	var total int64
	for _, kind := range store.Kinds {
		total += int64(len(original[kind]))
	}
	if want := fmt.Sprintf("copied %d records; every kind's count matches", total); !strings.Contains(out.String(), want) {
		t.Errorf("migrate --from-mongodb printed:\n%s\nwant it to say %q", &out, want)
	}

	// The scenario produced every kind of record. The outbox holds only
	// notifications not yet delivered: with push disabled the scheduler
	// delivers each to the inbox at once, so it may well be empty.
	for _, kind := range store.Kinds {
		t.Logf("%-16s %d", kind, len(original[kind]))
		if len(original[kind]) == 0 && kind != store.KindOutbox {
			t.Errorf("the scenario left no %s: the round trip does not test them", kind)
		}
	}

	// Every record as it left, in MongoDB and back in SQLite, field for
	// field. They compare equal without cmpopts.EquateEmpty, so none is
	// used: a nil list coming back empty would show here too.
	mongoDump := dataExportMongoDB(t, uri, dbName)
	roundTrip := dataExportSQLite(t, back)
	for _, kind := range store.Kinds {
		if diff := cmp.Diff(original[kind], mongoDump[kind]); diff != "" {
			t.Errorf("%s in MongoDB differ from the embedded database (-embedded +mongodb):\n%s", kind, diff)
		}
		if diff := cmp.Diff(original[kind], roundTrip[kind]); diff != "" {
			t.Errorf("%s after the round trip differ (-before +after):\n%s", kind, diff)
		}
	}

	// A target that holds anything is refused, naming what it holds, and
	// left as it was.
	err := command(ctx, []string{"migrate", "--to-mongodb", uri}, env(map[string]string{"CONCORD_DATA_DIR": dir, "CONCORD_DB_NAME": dbName}), io.Discard)
	if err == nil {
		t.Fatal("a second migrate --to-mongodb into the same database succeeded, want it refused")
	}
	for _, want := range []string{"already holds", fmt.Sprintf("%d users", len(original[store.KindUsers])), fmt.Sprintf("%d readings", len(original[store.KindReadings]))} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("second migrate --to-mongodb: error %q does not say %q", err, want)
		}
	}
	err = command(ctx, []string{"migrate", "--from-mongodb", uri}, env(map[string]string{"CONCORD_DATA_DIR": dir, "CONCORD_DB_NAME": dbName}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "already holds") || !strings.Contains(err.Error(), fmt.Sprintf("%d doses", len(original[store.KindDoses]))) {
		t.Errorf("migrate --from-mongodb into a data directory with data = %v, want it refused, naming what it holds", err)
	}
	if diff := cmp.Diff(mongoDump, dataExportMongoDB(t, uri, dbName)); diff != "" {
		t.Errorf("a refused migrate changed MongoDB (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(original, dataExportSQLite(t, dir)); diff != "" {
		t.Errorf("a refused migrate changed the embedded database (-before +after):\n%s", diff)
	}

	// No embedded database to migrate: said plainly, and nothing created.
	for _, empty := range []string{t.TempDir(), filepath.Join(t.TempDir(), "never-made")} {
		err := command(ctx, []string{"migrate", "--to-mongodb", uri}, env(map[string]string{"CONCORD_DATA_DIR": empty, "CONCORD_DB_NAME": storetest.DatabaseName()}), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "CONCORD_DATA_DIR") || !strings.Contains(err.Error(), "no embedded database") || !strings.Contains(err.Error(), empty) {
			t.Errorf("migrate --to-mongodb from %s = %v, want an error saying there is no embedded database there", empty, err)
		}
		if _, err := os.Stat(filepath.Join(empty, sqlite.FileName)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("migrate --to-mongodb from %s created a database there (stat: %v)", empty, err)
		}
	}

	// Both flags, neither, or more: the usage.
	for _, args := range [][]string{
		{"migrate"},
		{"migrate", "--to-mongodb", uri, "--from-mongodb", uri},
		{"migrate", "--to-mongodb"},
		{"migrate", "--to-mongodb", uri, "extra"},
		{"migrate", "--sideways", uri},
	} {
		err := command(ctx, args, env(map[string]string{"CONCORD_DATA_DIR": dir, "CONCORD_DB_NAME": dbName}), io.Discard)
		if err == nil || !strings.HasPrefix(err.Error(), "usage: concord migrate --to-mongodb URI | --from-mongodb URI") {
			t.Errorf("concord %v = %v, want the usage", args, err)
		}
	}

	// The service runs on the round-tripped database: the patient logs in
	// and sees their readings, the pharmacist the flag as they left it.
	vars := baseEnv(back)
	in := start(t, vars)
	login := in.login(t, s.patientEmail, s.password)
	if login.User.ID != s.patientID {
		t.Fatalf("after the round trip the patient logs in as %q, want %q", login.User.ID, s.patientID)
	}
	if diff := cmp.Diff(s.readings, dataListReadings(t, in, login.AccessToken)); diff != "" {
		t.Errorf("readings after the round trip (-before +after):\n%s", diff)
	}
	ph := in.login(t, s.pharmacistEmail, s.password)
	status, body := in.call(t, http.MethodGet, "/v1/pharmacy/flags/"+url.PathEscape(s.flagID), ph.AccessToken, nil)
	var f dataFlag
	decodeJSON(t, "GET flag", body, &f)
	if status != http.StatusOK || f.ClaimedBy != s.pharmacistID || len(f.Notes) != 1 {
		t.Errorf("after the round trip the flag is %d %s; want it claimed by the pharmacist with the note", status, body)
	}
	if err := in.stop(t); err != nil {
		t.Fatalf("run on the round-tripped database = %v, want nil", err)
	}
}

func TestOldDataDirIsRefusedClearly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	old := filepath.Join(dir, "concord.sqlite")
	content := []byte("SQLite format 3\x00 the previous version's FerretDB database")
	if err := os.WriteFile(old, content, 0o600); err != nil {
		t.Fatal(err)
	}
	stamp := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(old, stamp, stamp); err != nil {
		t.Fatal(err)
	}

	// Refused every time: a refused start must leave nothing behind that
	// would let the next one serve an empty database beside the old data.
	for attempt := 1; attempt <= 2; attempt++ {
		logs, err := runToError(t, baseEnv(dir))
		if !errors.Is(err, sqlite.ErrOldDataDir) {
			t.Fatalf("start %d on a directory of the previous version = %v, want sqlite.ErrOldDataDir", attempt, err)
		}
		msg := err.Error()
		if strings.ContainsAny(msg, "\r\n") {
			t.Errorf("start %d: the error is more than one line: %q", attempt, msg)
		}
		for _, want := range []string{dir, "CONCORD_DATA_DIR", "earlier Concord version", "move those files out"} {
			if !strings.Contains(msg, want) {
				t.Errorf("start %d: error %q does not say %q", attempt, msg, want)
			}
		}
		if _, ok := logs.find("listening"); ok {
			t.Errorf("start %d served\nlog:\n%s", attempt, logs)
		}
	}
	got, err := os.ReadFile(old)
	if err != nil {
		t.Fatalf("the old database: %v", err)
	}
	if !bytes.Equal(got, content) {
		t.Errorf("the old database's content changed")
	}
	if fi, err := os.Stat(old); err != nil || !fi.ModTime().Equal(stamp) {
		t.Errorf("the old database was touched: %v, %v", fi.ModTime(), err)
	}
	for _, name := range []string{sqlite.FileName, "jwt-ed25519.pem"} {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a refused start left %s in the data directory (stat: %v)", name, err)
		}
	}
}

// dataScenarioResult is what the round trip checks the service against.
type dataScenarioResult struct {
	patientEmail, patientID       string
	pharmacistEmail, pharmacistID string
	password                      string
	flagID                        string
	readings                      []dataReading // as the patient listed them
}

type dataReading struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	TakenAt   time.Time `json:"takenAt"`
	Systolic  *float64  `json:"systolic"`
	Diastolic *float64  `json:"diastolic"`
	Value     *float64  `json:"value"`
	Note      string    `json:"note"`
}

type dataFlag struct {
	ID        string `json:"id"`
	PatientID string `json:"patientId"`
	Rule      string `json:"rule"`
	ClaimedBy string `json:"claimedBy"`
	Notes     []any  `json:"notes"`
}

// dataScenario runs the service on dir and uses it as its users would,
// leaving records of every kind; it stops the service before it returns.
func dataScenario(t *testing.T, dir string) dataScenarioResult {
	t.Helper()
	const password = "a long enough password"
	res := dataScenarioResult{patientEmail: "pat@example.org", pharmacistEmail: "phil@example.org", password: password}
	vars := baseEnv(dir)
	vars["CONCORD_ADMIN_EMAIL"] = "root@example.org"
	vars["CONCORD_ADMIN_PASSWORD"] = password
	vars["CONCORD_SCHEDULER_INTERVAL"] = "200ms"
	in := start(t, vars)
	admin := in.login(t, "root@example.org", password)

	// The admin sets up a pharmacy and its pharmacist.
	var pharmacy struct {
		ID string `json:"id"`
	}
	dataExpect(t, in, http.MethodPost, "/v1/admin/pharmacies", admin.AccessToken,
		map[string]string{"odsCode": "FD001", "name": "Data Pharmacy", "postcode": "SW1A 1AA"}, http.StatusCreated, &pharmacy)
	var pharmacist userBody
	dataExpect(t, in, http.MethodPost, "/v1/admin/users", admin.AccessToken, map[string]string{
		"email": res.pharmacistEmail, "password": password, "name": "Phil Pharmacist", "role": "pharmacist", "pharmacyId": pharmacy.ID,
	}, http.StatusCreated, &pharmacist)
	res.pharmacistID = pharmacist.ID
	ph := in.login(t, res.pharmacistEmail, password)

	// A patient registers, nominates the pharmacy and invites a carer.
	patient := in.register(t, res.patientEmail, password)
	res.patientID = patient.User.ID
	tok := patient.AccessToken
	dataExpect(t, in, http.MethodPut, "/v1/patients/me/pharmacy", tok, map[string]any{"pharmacyId": pharmacy.ID, "consent": true}, http.StatusOK, nil)
	var carer authResult
	dataExpect(t, in, http.MethodPost, "/v1/auth/register", "", map[string]string{
		"email": "cara@example.org", "password": password, "name": "Cara Carer", "role": "carer", "timezone": "Europe/London",
	}, http.StatusCreated, &carer)
	var invitation struct {
		Code string `json:"code"`
	}
	dataExpect(t, in, http.MethodPost, "/v1/patients/me/carers/invitations", tok,
		map[string]any{"scopes": []string{"reading_alerts", "missed_dose_alerts", "view_summary", "view_readings"}, "note": "for Cara"},
		http.StatusCreated, &invitation)
	dataExpect(t, in, http.MethodPost, "/v1/care/invitations/accept", carer.AccessToken, map[string]string{"code": invitation.Code}, http.StatusCreated, nil)
	// A share link of the consultation report.
	dataExpect(t, in, http.MethodPost, "/v1/patients/me/report/links", tok, map[string]any{"days": 28, "expiresInDays": 7}, http.StatusCreated, nil)

	// Readings: ordinary ones in a batch, then a severe one, which raises a
	// review flag for the pharmacy and alerts the carer.
	dataUploadBatch(t, in, tok, dataReadingIDs(7, 24), 125)
	glucose := 6.2
	dataExpect(t, in, http.MethodPost, "/v1/patients/me/readings", tok, map[string]any{
		"id": dataReadingIDs(8, 1)[0], "type": "blood_glucose", "takenAt": time.Now().Add(-3 * time.Hour).UTC().Format(time.RFC3339),
		"unit": "mmol/L", "value": glucose, "context": "fasting", "note": "before breakfast",
	}, http.StatusCreated, nil)
	dataExpect(t, in, http.MethodPost, "/v1/patients/me/readings", tok, map[string]any{
		"id": dataReadingIDs(9, 1)[0], "type": "blood_pressure", "takenAt": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339),
		"unit": "mmHg", "systolic": 186, "diastolic": 124, "pulse": 90, "note": "headache",
	}, http.StatusCreated, nil)

	// Medicines: one taken twice a day in the next hours, with little
	// stock (a refill reminder), and one as needed.
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(london)
	var ramipril, salbutamol struct {
		ID string `json:"id"`
	}
	dataExpect(t, in, http.MethodPost, "/v1/patients/me/medications", tok, map[string]any{
		"name": "Ramipril", "strength": "5 mg", "form": "capsule", "instructions": "with water",
		"schedule": map[string]any{"times": []string{now.Add(time.Hour).Format("15:04"), now.Add(2 * time.Hour).Format("15:04")}, "startDate": now.Format("2006-01-02")},
		"stock":    map[string]any{"quantity": 5, "unitsPerDose": 1, "refillLeadDays": 7},
	}, http.StatusCreated, &ramipril)
	dataExpect(t, in, http.MethodPost, "/v1/patients/me/medications", tok, map[string]any{
		"name": "Salbutamol", "strength": "100 micrograms", "schedule": map[string]any{"asNeeded": true, "startDate": now.Format("2006-01-02")},
		"stock": map[string]any{"quantity": 200, "unitsPerDose": 2, "refillLeadDays": 7},
	}, http.StatusCreated, &salbutamol)
	dataExpect(t, in, http.MethodPost, "/v1/patients/me/doses", tok, map[string]any{"medicationId": salbutamol.ID}, http.StatusCreated, nil)
	var doses struct {
		Items []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"items"`
	}
	q := url.Values{"from": {now.UTC().Format(time.RFC3339)}, "to": {now.Add(3 * time.Hour).UTC().Format(time.RFC3339)}, "medicationId": {ramipril.ID}}
	dataExpect(t, in, http.MethodGet, "/v1/patients/me/doses?"+q.Encode(), tok, nil, http.StatusOK, &doses)
	if len(doses.Items) < 2 {
		t.Fatalf("Ramipril has %d doses in the next 3 hours, want 2: %+v", len(doses.Items), doses.Items)
	}
	dataExpect(t, in, http.MethodPost, "/v1/patients/me/doses/"+url.PathEscape(doses.Items[0].ID)+"/taken", tok, map[string]any{}, http.StatusOK, nil)
	dataExpect(t, in, http.MethodPost, "/v1/patients/me/doses/"+url.PathEscape(doses.Items[1].ID)+"/skipped", tok, map[string]any{"reason": "felt dizzy"}, http.StatusOK, nil)
	dataExpect(t, in, http.MethodPost, "/v1/me/devices", tok, map[string]string{"token": "data-test-registration-token-0123456789", "platform": "android"}, 0, nil)

	// The pharmacist reads the patient's summary (an access-log entry) and
	// claims the flag, with a note.
	dataExpect(t, in, http.MethodGet, "/v1/patients/"+url.PathEscape(res.patientID)+"/summary", ph.AccessToken, nil, http.StatusOK, nil)
	var queue struct {
		Items []dataFlag `json:"items"`
	}
	dataEventually(t, "a severe-reading flag in the pharmacy's queue", func() bool {
		dataExpect(t, in, http.MethodGet, "/v1/pharmacy/flags?rule=severe_reading", ph.AccessToken, nil, http.StatusOK, &queue)
		return len(queue.Items) > 0
	})
	if f := queue.Items[0]; f.Rule != "severe_reading" || f.PatientID != res.patientID {
		t.Fatalf("the pharmacy's queue shows %+v, want the patient's severe-reading flag", f)
	}
	res.flagID = queue.Items[0].ID
	flagPath := "/v1/pharmacy/flags/" + url.PathEscape(res.flagID)
	dataExpect(t, in, http.MethodPost, flagPath+"/claim", ph.AccessToken, nil, http.StatusOK, nil)
	dataExpect(t, in, http.MethodPost, flagPath+"/notes", ph.AccessToken, map[string]string{"text": "Called: repeat the reading tonight."}, http.StatusOK, nil)
	// The pharmacist records a Blood Pressure Check that offers ambulatory
	// monitoring (a service episode and a clinic reading).
	dataExpect(t, in, http.MethodPost, "/v1/patients/"+url.PathEscape(res.patientID)+"/services/bp-check", ph.AccessToken,
		map[string]any{"systolic": 152, "diastolic": 94, "consent": true}, http.StatusCreated, nil)

	// A second login of the patient is refreshed (a spent refresh token)
	// and logged out (a revoked session).
	second := in.login(t, res.patientEmail, password)
	var refreshed authResult
	dataExpect(t, in, http.MethodPost, "/v1/auth/refresh", "", map[string]string{"refreshToken": second.RefreshToken}, http.StatusOK, &refreshed)
	dataExpect(t, in, http.MethodPost, "/v1/auth/logout", "", map[string]string{"refreshToken": refreshed.RefreshToken}, http.StatusNoContent, nil)

	// The scheduler delivers the carer's alert and the refill reminder to
	// their inboxes.
	for _, who := range []struct {
		name, token string
	}{{"the carer", carer.AccessToken}, {"the patient", tok}} {
		dataEventually(t, "a notification in the inbox of "+who.name, func() bool {
			var inbox struct {
				Items []struct {
					State string `json:"state"`
				} `json:"items"`
			}
			dataExpect(t, in, http.MethodGet, "/v1/me/notifications", who.token, nil, http.StatusOK, &inbox)
			return len(inbox.Items) > 0 && inbox.Items[0].State != "pending"
		})
	}

	res.readings = dataListReadings(t, in, tok)
	if err := in.stop(t); err != nil {
		t.Fatalf("run = %v, want nil", err)
	}
	return res
}

// dataExpect sends a request, checks the status (any 2xx when want is 0)
// and decodes the body into v unless v is nil.
func dataExpect(t *testing.T, in *instance, method, path, token string, body any, want int, v any) {
	t.Helper()
	status, got := in.call(t, method, path, token, body)
	if status != want && (want != 0 || status/100 != 2) {
		t.Fatalf("%s %s: status %d, want %d; body %s", method, path, status, want, got)
	}
	if v != nil {
		decodeJSON(t, method+" "+path, got, v)
	}
}

// dataEventually waits up to 20 s for cond.
func dataEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 20s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// dataReadingID is the i-th reading id (a UUID) of a series.
func dataReadingID(series, i int) string {
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", series, i)
}

// dataReadingIDs returns the first n reading ids of a series.
func dataReadingIDs(series, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = dataReadingID(series, i+1)
	}
	return ids
}

// dataBloodPressure is a reading of the given id, systolic and age.
func dataBloodPressure(id string, systolic int, ago time.Duration) map[string]any {
	return map[string]any{
		"id": id, "type": "blood_pressure", "takenAt": time.Now().Add(-ago).UTC().Format(time.RFC3339Nano),
		"unit": "mmHg", "systolic": systolic, "diastolic": 78, "pulse": 64,
	}
}

// dataUploadBatch uploads one ordinary blood pressure reading per id in
// one batch and checks each was created.
func dataUploadBatch(t *testing.T, in *instance, token string, ids []string, systolic int) {
	t.Helper()
	var rs []map[string]any
	for i, id := range ids {
		rs = append(rs, dataBloodPressure(id, systolic-i%7, time.Duration(len(ids)-i)*time.Hour))
	}
	var res struct {
		Results []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"results"`
	}
	dataExpect(t, in, http.MethodPost, "/v1/patients/me/readings/batch", token, map[string]any{"readings": rs}, http.StatusOK, &res)
	if len(res.Results) != len(ids) {
		t.Fatalf("batch upload: %d results for %d readings", len(res.Results), len(ids))
	}
	for i, r := range res.Results {
		if r.ID != ids[i] || r.Status != "created" {
			t.Fatalf("batch upload: result %d is %+v, want %s created", i, r, ids[i])
		}
	}
}

// dataListReadings lists every live reading of the caller, newest first.
func dataListReadings(t *testing.T, in *instance, token string) []dataReading {
	t.Helper()
	var all []dataReading
	cursor := ""
	for {
		var page struct {
			Items      []dataReading `json:"items"`
			NextCursor string        `json:"nextCursor"`
		}
		dataExpect(t, in, http.MethodGet, "/v1/patients/me/readings?"+url.Values{"limit": {"200"}, "cursor": {cursor}}.Encode(), token, nil, http.StatusOK, &page)
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
}

// dataWriter uploads readings one at a time, from its own goroutine, until
// stopped.
type dataWriter struct {
	mu    sync.Mutex
	sent  []string // in the order sent
	acked int      // how many of sent were answered 201
	err   error
	quit  chan struct{}
	done  chan struct{}
}

func dataStartWriter(in *instance, token string, series int) *dataWriter {
	w := &dataWriter{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for i := 1; ; i++ {
			select {
			case <-w.quit:
				return
			default:
			}
			id := dataReadingID(series, i)
			w.mu.Lock()
			w.sent = append(w.sent, id)
			w.mu.Unlock()
			b, _ := json.Marshal(dataBloodPressure(id, 118, time.Duration(i)*time.Second))
			req, _ := http.NewRequest(http.MethodPost, in.base+"/v1/patients/me/readings", bytes.NewReader(b))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := client.Do(req)
			if err == nil {
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusCreated {
					err = fmt.Errorf("POST reading %s: status %d; body %s", id, res.StatusCode, body)
				}
			}
			w.mu.Lock()
			if err != nil {
				w.err = err
				w.mu.Unlock()
				return
			}
			w.acked++
			w.mu.Unlock()
		}
	}()
	return w
}

// waitAcked waits until at least n uploads were acknowledged and returns
// how many were.
func (w *dataWriter) waitAcked(t *testing.T, n int) int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		w.mu.Lock()
		acked, err := w.acked, w.err
		w.mu.Unlock()
		if err != nil {
			t.Fatalf("concurrent writer: %v", err)
		}
		if acked >= n {
			return acked
		}
		if time.Now().After(deadline) {
			t.Fatalf("concurrent writer: %d uploads acknowledged in 20s, want %d", acked, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (w *dataWriter) sentCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.sent)
}

// stop stops the writer and returns the ids it sent, in order; all of them
// must have been acknowledged.
func (w *dataWriter) stop(t *testing.T) []string {
	t.Helper()
	close(w.quit)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		t.Fatalf("concurrent writer: %v", w.err)
	}
	return slices.Clone(w.sent)
}

// dataExportSQLite returns every record of every kind in the embedded
// database in dir (which no process may hold), each kind by key.
func dataExportSQLite(t *testing.T, dir string) map[store.Kind][]any {
	t.Helper()
	st, err := sqlite.Open(t.Context(), sqlite.Options{Dir: dir})
	if err != nil {
		t.Fatalf("open the embedded database in %s: %v", dir, err)
	}
	defer st.Close(t.Context())
	return dataExport(t, st)
}

// dataExportMongoDB returns every record of every kind in the MongoDB
// database name, each kind by key.
func dataExportMongoDB(t *testing.T, uri, name string) map[store.Kind][]any {
	t.Helper()
	st, err := mongodb.Open(t.Context(), mongodb.Options{URI: uri, Database: name})
	if err != nil {
		t.Fatalf("open MongoDB database %s: %v", name, err)
	}
	defer st.Close(context.WithoutCancel(t.Context()))
	return dataExport(t, st)
}

func dataExport(t *testing.T, st store.Copier) map[store.Kind][]any {
	t.Helper()
	out := map[store.Kind][]any{}
	for _, kind := range store.Kinds {
		var records []any
		if err := st.Export(t.Context(), kind, 1000, func(batch []any) error {
			records = append(records, batch...)
			return nil
		}); err != nil {
			t.Fatalf("export %s: %v", kind, err)
		}
		// Both backends export in key order, but the order is not what is
		// compared: sort by key so that only the records are.
		slices.SortFunc(records, func(a, b any) int { return strings.Compare(dataKey(t, a), dataKey(t, b)) })
		out[kind] = records
	}
	return out
}

// dataKey is a record's key: its field stored as MongoDB's _id, in the
// record or in a struct it inlines (store.FlagRecord's models.Flag).
func dataKey(t *testing.T, record any) string {
	t.Helper()
	v := reflect.ValueOf(record)
	for i := range v.NumField() {
		tag, opts, _ := strings.Cut(v.Type().Field(i).Tag.Get("bson"), ",")
		switch {
		case tag == "_id":
			return fmt.Sprint(v.Field(i).Interface())
		case tag == "" && opts == "inline" && v.Field(i).Kind() == reflect.Struct:
			return dataKey(t, v.Field(i).Interface())
		}
	}
	t.Fatalf("a %T has no _id field", record)
	return ""
}

// dataDropAtEnd drops the MongoDB database name when the test ends.
func dataDropAtEnd(t *testing.T, uri, name string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		st, err := mongodb.Open(ctx, mongodb.Options{URI: uri, Database: name})
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer st.Close(ctx)
		if err := st.Drop(ctx); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
}
