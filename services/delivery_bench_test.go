package services_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// BenchmarkDelivery measures delivery end to end: notifications queued in
// the store, claimed, pushed through the Firebase SDK to the local fake FCM
// server and recorded sent, by Tick. Each iteration delivers 500
// notifications (one full batch) to 100 users with one device each; the
// record collection grows by 500 per iteration, so compare runs with the
// same -benchtime (e.g. 3x). The fake answers at once, or after 20 ms per
// message to look more like a remote service (the SDK sends 50 at a time).
func BenchmarkDelivery(b *testing.B) {
	for _, tc := range []struct {
		name    string
		latency time.Duration
	}{{"fcmfake_instant", 0}, {"fcmfake_20ms", 20 * time.Millisecond}} {
		b.Run(tc.name, func(b *testing.B) {
			const perIteration, users = 500, 100
			e := newPushEnv(b)
			e.delivery = e.instance("bench", e.fcm)
			for u := range users {
				id := fmt.Sprintf("u%03d", u)
				e.user(b, id, "Europe/London", models.Preferences{})
				e.device(b, id, "token-"+id+"-0123456789")
			}
			e.fake.SetLatency(tc.latency)
			var tickTime time.Duration
			iter := 0
			for b.Loop() {
				b.StopTimer()
				for i := range perIteration {
					e.enqueue(b, reminder(fmt.Sprintf("dose_reminder:%d-%04d", iter, i), fmt.Sprintf("u%03d", i%users), e.clock.Now()))
				}
				iter++
				b.StartTimer()
				start := time.Now()
				var st services.DeliveryStats
				for st.Sent < perIteration {
					got := e.tick(b)
					if got.Claimed == 0 {
						b.Fatalf("stalled after %d sent", st.Sent)
					}
					st.Add(got)
				}
				tickTime += time.Since(start)
			}
			b.ReportMetric(float64(perIteration*b.N)/tickTime.Seconds(), "notifications/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}
