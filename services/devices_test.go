package services_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

func TestDeviceLimitForgetsLeastRecentlySeen(t *testing.T) {
	t.Parallel()
	e := newPushEnv(t)
	ctx := context.Background()
	p := models.Principal{UserID: "u1", Role: models.RolePatient}
	token := func(i int) string { return fmt.Sprintf("phone-%02d-token-0123456789", i) }
	for i := range services.MaxDevicesPerUser {
		e.device(t, "u1", token(i))
		e.clock.Advance(time.Minute)
	}
	// Seen again: the first phone is now the most recently seen.
	if _, created, err := e.devices.Register(ctx, p, token(0), models.PlatformIOS); err != nil || created {
		t.Fatalf("re-register: created %v, %v", created, err)
	}
	e.clock.Advance(time.Minute)
	e.device(t, "u1", "phone-new-token-0123456789")

	devs, err := e.devices.List(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, d := range devs {
		got[d.ID] = true
	}
	want := map[string]bool{models.DeviceID("phone-new-token-0123456789"): true}
	for i := range services.MaxDevicesPerUser {
		if i != 1 { // the least recently seen
			want[models.DeviceID(token(i))] = true
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("devices kept (-want +got):\n%s", diff)
	}
	if devs[1].ID != models.DeviceID(token(0)) || devs[1].Platform != models.PlatformIOS {
		t.Errorf("second most recent: %+v, want the re-registered phone, now ios", devs[1])
	}
}
