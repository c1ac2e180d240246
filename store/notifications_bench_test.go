package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
	"github.com/concord-health/concord/store/storetest"
)

// BenchmarkClaim claims 2,000 due notifications in batches of 500 on the
// chosen backend (CONCORD_TEST_STORE). Run with -benchtime=1x: one
// iteration claims all 2,000.
func BenchmarkClaim(b *testing.B) {
	const due = 2000
	ctx := context.Background()
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	for b.Loop() {
		b.StopTimer()
		s := claimBenchStore(b, due, now)
		b.StartTimer()
		claimed := 0
		for i := 0; ; i++ {
			got, err := s.Notifications().Claim(ctx, now, fmt.Sprintf("bench/%d", i), "bench", 2*time.Minute, store.MaxClaim)
			if err != nil {
				b.Fatal(err)
			}
			if len(got) == 0 {
				break
			}
			claimed += len(got)
		}
		if claimed != due {
			b.Fatalf("claimed %d, want %d", claimed, due)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/2000")
}

// claimBenchStore returns a fresh store holding n due notifications.
func claimBenchStore(b *testing.B, n int, now time.Time) store.Store {
	b.Helper()
	ctx := context.Background()
	s := storetest.New(b)
	for i := range n {
		due := now.Add(-time.Duration(i) * time.Second)
		x := models.Notification{ID: fmt.Sprintf("dose_reminder:m%05d", i), RecipientID: fmt.Sprintf("u%03d", i%100), Kind: models.KindDoseReminder,
			Title: "Medicines", Body: "Time for your 08:00 medicines", Urgent: true, DueAt: due, NextAttemptAt: due,
			State: models.NotificationPending, CreatedAt: now,
			Data: map[string]string{"notificationId": fmt.Sprintf("dose_reminder:m%05d", i), "kind": "dose_reminder"}}
		if _, _, err := s.Notifications().Enqueue(ctx, x); err != nil {
			b.Fatal(err)
		}
	}
	return s
}
