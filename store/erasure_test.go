package store_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
	"github.com/concord-health/concord/store/storetest"
)

// TestErasePersonFlags: OfPatient lists every flag of a patient; of a patient's flags, those no pharmacist worked
// on go; one claimed and still live is kept, closed as account_deleted;
// one resolved is kept as it was. A second call finds nothing more to do.
func TestErasePersonFlags(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := t.Context()
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	flag := func(patient string, rule models.FlagRuleID) models.Flag {
		return models.Flag{ID: models.FlagID(patient, rule, 1), PatientID: patient, PharmacyID: "ph1", Rule: rule, Seq: 1,
			Severity: models.SeverityHigh, Status: models.FlagOpen, Notes: []models.FlagNote{}, History: []models.FlagEvent{}, QueuedAt: at, CreatedAt: at, UpdatedAt: at}
	}
	untouched, claimed, resolved := flag("p1", models.RuleMissedStreak), flag("p1", models.RuleSevereReading), flag("p1", models.RuleRunningOut)
	others := flag("p2", models.RuleMissedStreak)
	for _, f := range []models.Flag{untouched, claimed, resolved, others} {
		if err := s.Flags().Insert(ctx, f); err != nil {
			t.Fatal(err)
		}
		if err := s.Flags().RecordSeq(ctx, f.PatientID, f.Rule, 1); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := s.Flags().Claim(ctx, claimed.ID, "pharmacist", at); err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if ok, err := s.Flags().Claim(ctx, resolved.ID, "pharmacist", at); err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if ok, err := s.Flags().Resolve(ctx, resolved.ID, "pharmacist", models.FlagOutcome("advice_given"), "done", nil, at); err != nil || !ok {
		t.Fatalf("resolve: %v %v", ok, err)
	}
	all, err := s.Flags().OfPatient(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range all {
		ids = append(ids, f.ID)
	}
	// One creation time: by id.
	if diff := cmp.Diff([]string{untouched.ID, resolved.ID, claimed.ID}, ids); diff != "" {
		t.Errorf("OfPatient (-want +got):\n%s", diff)
	}
	if err := s.Users().Create(ctx, models.User{ID: "p1", Email: "p1@example.org", Role: models.RolePatient}); err != nil {
		t.Fatal(err)
	}

	counts, err := s.ErasePerson(ctx, "p1", at.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{string(store.KindUsers): 1, string(store.KindFlags): 1, string(store.KindFlagsClosed): 1, string(store.KindFlagSlots): 3}
	for k, n := range counts {
		if n == 0 {
			delete(counts, k)
		}
	}
	if diff := cmp.Diff(want, counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if _, err := s.Flags().Get(ctx, untouched.ID); models.ErrorCode(err) != models.CodeNotFound {
		t.Errorf("untouched flag: %v, want not_found", err)
	}
	got, err := s.Flags().Get(ctx, claimed.ID)
	if err != nil || got.Status != models.FlagClosed || got.CloseReason != models.FlagClosedAccountDeleted {
		t.Errorf("claimed flag: %+v %v", got, err)
	}
	if got, err := s.Flags().Get(ctx, resolved.ID); err != nil || got.Status != models.FlagResolved {
		t.Errorf("resolved flag: %+v %v", got, err)
	}
	if seq, err := s.Flags().LatestSeq(ctx, "p1", models.RuleMissedStreak); err != nil || seq != 0 {
		t.Errorf("flag slot left: %d %v", seq, err)
	}
	if seq, err := s.Flags().LatestSeq(ctx, "p2", models.RuleMissedStreak); err != nil || seq != 1 {
		t.Errorf("another patient's slot: %d %v", seq, err)
	}
	if _, err := s.Flags().Get(ctx, others.ID); err != nil {
		t.Errorf("another patient's flag: %v", err)
	}
	again, err := s.ErasePerson(ctx, "p1", at.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for k, n := range again {
		if n != 0 {
			t.Errorf("second call erased %d %s", n, k)
		}
	}
}

// TestErasePersonDoseTombstones: the change feed's tombstones of a
// person's deleted doses go with the person; another patient's stay.
func TestErasePersonDoseTombstones(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := t.Context()
	mine, theirs := testDose("m1", 1), testDose("m2", 1)
	theirs.PatientID = "p2"
	for _, d := range []models.Dose{mine, theirs} {
		if err := s.Doses().Insert(ctx, d); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.Doses().DeletePending(ctx, d, doseEpoch.Add(time.Hour)); err != nil || !ok {
			t.Fatalf("delete pending %s: %v %v", d.ID, ok, err)
		}
	}
	tombstones := func(patient string) int {
		got, err := s.Doses().Deleted(ctx, patient, models.ChangeKey{}, doseEpoch.Add(48*time.Hour), 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(got)
	}
	if tombstones("p1") != 1 || tombstones("p2") != 1 {
		t.Fatalf("before: %d and %d tombstones, want 1 each", tombstones("p1"), tombstones("p2"))
	}
	if _, err := s.ErasePerson(ctx, "p1", doseEpoch.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := tombstones("p1"); n != 0 {
		t.Errorf("%d dose tombstones of the erased person remain", n)
	}
	if n := tombstones("p2"); n != 1 {
		t.Errorf("another patient's tombstones: %d, want 1", n)
	}
}
