package apiclient_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/concord-health/concord/internal/apiclient"
	"github.com/concord-health/concord/internal/graphtest"
	"github.com/concord-health/concord/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// A phone app's core flow through the generated client, against the real
// HTTP stack (run()'s graph on a TCP listener) and store: register, record
// and list readings, add a medicine, list its doses, take one, log out (the
// refresh token is then refused), with a sync (GET …/changes) after the
// doses step that brings back what the flow wrote.
func TestGeneratedClientCoreFlow(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	clock := graphtest.NewClock(start)
	graph := graphtest.New(t, storetest.New(t), clock, nil, nil, graphtest.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = graph.App.Listener(ln) }()
	t.Cleanup(func() { _ = graph.App.Shutdown() })

	ctx := context.Background()
	c, err := apiclient.NewClientWithResponses("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	tz := "Europe/London"
	reg, err := c.RegisterAccountWithResponse(ctx, apiclient.RegisterAccountJSONRequestBody{
		Email: "gen@example.org", Password: "correct horse battery", Name: "Gen Client",
		Role: apiclient.RegisterRequestRolePatient, Timezone: &tz,
	})
	if err != nil || reg.JSON201 == nil {
		t.Fatalf("register: %v %s", err, body(reg))
	}
	session := reg.JSON201
	auth := func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+session.AccessToken)
		return nil
	}

	// Readings.
	sys, dia := float32(142), float32(91)
	id := openapi_types.UUID(uuid.Must(uuid.NewV7()))
	rd, err := c.CreateReadingWithResponse(ctx, "me", apiclient.CreateReadingJSONRequestBody{
		Id: &id, Type: apiclient.BloodPressure, TakenAt: start.Add(-time.Hour), Unit: "mm[Hg]", Systolic: &sys, Diastolic: &dia,
	}, auth)
	if err != nil || rd.JSON201 == nil {
		t.Fatalf("create reading: %v %s", err, body(rd))
	}
	if rd.JSON201.Band != apiclient.HighStage1 || rd.JSON201.Rule != apiclient.BpStage1 {
		t.Errorf("reading band %s rule %s, want high_stage1 by bp.stage1", rd.JSON201.Band, rd.JSON201.Rule)
	}
	limit := 10
	page, err := c.ListReadingsWithResponse(ctx, "me", &apiclient.ListReadingsParams{Limit: &limit}, auth)
	if err != nil || page.JSON200 == nil || len(page.JSON200.Items) != 1 || page.JSON200.Items[0].Id != id {
		t.Fatalf("list readings: %v %s", err, body(page))
	}

	// A medicine at 20:00 and one taken as needed; today's 20:00 dose.
	times := []string{"20:00"}
	today := openapi_types.Date{Time: start}
	med, err := c.CreateMedicationWithResponse(ctx, "me", apiclient.CreateMedicationJSONRequestBody{
		Name: "Amlodipine", Schedule: apiclient.Schedule{Times: &times, StartDate: today},
	}, auth)
	if err != nil || med.JSON201 == nil {
		t.Fatalf("create medication: %v %s", err, body(med))
	}
	asNeeded := true
	prn, err := c.CreateMedicationWithResponse(ctx, "me", apiclient.CreateMedicationJSONRequestBody{
		Name: "Salbutamol", Schedule: apiclient.Schedule{AsNeeded: &asNeeded, StartDate: today},
	}, auth)
	if err != nil || prn.JSON201 == nil {
		t.Fatalf("create as-needed medication: %v %s", err, body(prn))
	}
	if prn.JSON201.Schedule.Times == nil || len(*prn.JSON201.Schedule.Times) != 0 {
		t.Errorf("as-needed schedule.times = %v, want an empty array", prn.JSON201.Schedule.Times)
	}
	doses, err := c.ListDosesWithResponse(ctx, "me", &apiclient.ListDosesParams{MedicationId: &med.JSON201.Id}, auth)
	if err != nil || doses.JSON200 == nil || len(doses.JSON200.Items) != 1 {
		t.Fatalf("list doses: %v %s", err, body(doses))
	}
	taken, err := c.MarkDoseTakenWithResponse(ctx, "me", doses.JSON200.Items[0].Id, apiclient.MarkDoseTakenJSONRequestBody{}, auth)
	if err != nil || taken.JSON200 == nil || taken.JSON200.Status != apiclient.DoseStatusTaken {
		t.Fatalf("take dose: %v %s", err, body(taken))
	}

	// Sync: a first sync (no token) resets and brings back the reading,
	// both medicines and the planned doses, the one taken as taken; a sync from its token then
	// brings nothing newer than what the phone holds. The phone syncs a
	// minute later (a change is in the feed once the clock passes it).
	clock.Set(start.Add(time.Minute))
	sync, err := c.ListChangesWithResponse(ctx, "me", &apiclient.ListChangesParams{}, auth)
	if err != nil || sync.JSON200 == nil {
		t.Fatalf("sync: %v %s", err, body(sync))
	}
	feed := sync.JSON200
	got := map[apiclient.ChangeKind][]string{}
	for _, ch := range feed.Changes {
		got[ch.Kind] = append(got[ch.Kind], ch.Id)
		if ch.Kind == apiclient.ChangeKindDose && ch.Id == doses.JSON200.Items[0].Id && (ch.Dose == nil || ch.Dose.Status != apiclient.DoseStatusTaken) {
			t.Errorf("synced dose %s is not taken: %+v", ch.Id, ch.Dose)
		}
	}
	if !feed.Reset || feed.HasMore || feed.Next == "" || len(got[apiclient.ChangeKindReading]) != 1 ||
		len(got[apiclient.ChangeKindMedication]) != 2 || !slices.Contains(got[apiclient.ChangeKindDose], doses.JSON200.Items[0].Id) {
		t.Fatalf("first sync: reset %v hasMore %v next %q, changes %v", feed.Reset, feed.HasMore, feed.Next, got)
	}
	clock.Set(start.Add(2 * time.Minute)) // past the feed's 30 s overlap
	again, err := c.ListChangesWithResponse(ctx, "me", &apiclient.ListChangesParams{Since: &feed.Next}, auth)
	if err != nil || again.JSON200 == nil || again.JSON200.Reset || len(again.JSON200.Changes) != 0 {
		t.Fatalf("second sync, nothing changed: %v %s", err, body(again))
	}

	// Log out: the session's refresh token no longer works.
	out, err := c.LogoutSessionWithResponse(ctx, apiclient.LogoutSessionJSONRequestBody{RefreshToken: session.RefreshToken})
	if err != nil || out.StatusCode() != http.StatusNoContent {
		t.Fatalf("logout: %v %s", err, body(out))
	}
	refused, err := c.RefreshTokensWithResponse(ctx, apiclient.RefreshTokensJSONRequestBody{RefreshToken: session.RefreshToken})
	if err != nil || refused.ApplicationproblemJSON401 == nil {
		t.Fatalf("refresh after logout: %v %s, want a 401 problem", err, body(refused))
	}
}

// body is a response's status and body, for failure messages.
func body(r interface {
	StatusCode() int
	GetBody() []byte
}) string {
	if v := reflect.ValueOf(r); v.Kind() == reflect.Pointer && v.IsNil() {
		return "(no response)"
	}
	return fmt.Sprintf("%d %s", r.StatusCode(), r.GetBody())
}
