package models

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRefill(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	// 23:30 on 24 November in London is already the 25th in Auckland.
	now := time.Date(2026, 11, 24, 23, 30, 0, 0, time.UTC)
	med := func(quantity, perDose float64, lead int, times ...string) Medication {
		return Medication{ID: "m", Status: MedicationActive,
			Schedule: Schedule{Times: times, StartDate: "2026-11-01"},
			Stock:    &Stock{Quantity: quantity, UnitsPerDose: perDose, RefillLeadDays: lead}}
	}
	stopped := med(10, 1, 7, "08:00")
	stopped.Status = MedicationStopped
	asNeeded := med(10, 1, 7)
	asNeeded.Schedule.AsNeeded = true
	noStock := med(0, 1, 7, "08:00")
	noStock.Stock = nil
	auckland, _ := time.LoadLocation("Pacific/Auckland")
	tests := []struct {
		name   string
		m      Medication
		loc    *time.Location
		want   RefillOutlook
		wantOK bool
	}{
		{"plenty", med(56, 1, 7, "08:00", "20:00"), london, RefillOutlook{DaysLeft: 28, RunOutDate: "2026-12-22", Due: false}, true},
		{"at the lead", med(14, 1, 7, "08:00", "20:00"), london, RefillOutlook{DaysLeft: 7, RunOutDate: "2026-12-01", Due: true}, true},
		{"below the lead, part days", med(5, 2, 7, "08:00"), london, RefillOutlook{DaysLeft: 2.5, RunOutDate: "2026-11-26", Due: true}, true},
		{"gone", med(0, 1, 3, "08:00"), london, RefillOutlook{DaysLeft: 0, RunOutDate: "2026-11-24", Due: true}, true},
		{"lead 0 with stock", med(1, 1, 0, "08:00"), london, RefillOutlook{DaysLeft: 1, RunOutDate: "2026-11-25", Due: false}, true},
		{"local date of the zone", med(14, 1, 7, "08:00", "20:00"), auckland, RefillOutlook{DaysLeft: 7, RunOutDate: "2026-12-02", Due: true}, true},
		{"no stock recorded", noStock, london, RefillOutlook{}, false},
		{"stopped", stopped, london, RefillOutlook{}, false},
		{"as needed", asNeeded, london, RefillOutlook{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Refill(tt.m, now, tt.loc)
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("outlook (-want +got):\n%s", diff)
			}
		})
	}
}
