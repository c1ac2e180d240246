package models_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
)

// medValid returns a medication that passes validation.
func medValid() models.Medication {
	return models.Medication{
		ID:        "med-1",
		PatientID: "pat-1",
		Name:      "Ramipril",
		Strength:  "5 mg",
		Form:      "capsule",
		Code:      "318904004",
		Schedule: models.Schedule{
			Times:      []string{"08:00", "20:00"},
			DaysOfWeek: []string{"mon", "wed"},
			StartDate:  "2026-03-01",
			EndDate:    "2026-03-31",
		},
		Stock:  &models.Stock{Quantity: 28, UnitsPerDose: 1, RefillLeadDays: 7},
		Status: models.MedicationActive,
	}
}

// medProblemFields returns the fields an error names, nil for nil, and
// fails the test if err is not CodeInvalid.
func medProblemFields(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	if !models.IsCode(err, models.CodeInvalid) {
		t.Fatalf("error code = %q, want %q (%v)", models.ErrorCode(err), models.CodeInvalid, err)
	}
	var e *models.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not a *models.Error", err)
	}
	fields := []string{}
	for _, f := range e.Fields {
		fields = append(fields, f.Field)
	}
	return fields
}

func TestMedicationValidate(t *testing.T) {
	stopped := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		edit   func(m *models.Medication)
		fields []string
	}{
		{"valid", func(m *models.Medication) {}, nil},
		{"valid every n days, no stock, no code", func(m *models.Medication) {
			m.Schedule.DaysOfWeek = nil
			m.Schedule.EveryNDays = 3
			m.Stock = nil
			m.Code = ""
		}, nil},
		{"valid as needed", func(m *models.Medication) {
			m.Schedule = models.Schedule{AsNeeded: true, StartDate: "2026-03-01"}
		}, nil},
		{"valid stopped", func(m *models.Medication) {
			m.Status = models.MedicationStopped
			m.StoppedAt = &stopped
		}, nil},
		{"valid 12 times", func(m *models.Medication) {
			m.Schedule.Times = []string{"00:00", "02:00", "04:00", "06:00", "08:00", "10:00", "12:00", "14:00", "16:00", "18:00", "20:00", "23:59"}
		}, nil},
		{"valid start equals end", func(m *models.Medication) { m.Schedule.EndDate = "2026-03-01" }, nil},
		{"name required", func(m *models.Medication) { m.Name = "  " }, []string{"name"}},
		{"name too long", func(m *models.Medication) { m.Name = strings.Repeat("é", 201) }, []string{"name"}},
		{"name of 200 runes", func(m *models.Medication) { m.Name = strings.Repeat("é", 200) }, nil},
		{"texts too long", func(m *models.Medication) {
			m.Strength = strings.Repeat("x", 101)
			m.Form = strings.Repeat("x", 101)
			m.Instructions = strings.Repeat("x", 1001)
		}, []string{"strength", "form", "instructions"}},
		{"code with letters", func(m *models.Medication) { m.Code = "31890400A" }, []string{"code"}},
		{"code too short", func(m *models.Medication) { m.Code = "12345" }, []string{"code"}},
		{"code too long", func(m *models.Medication) { m.Code = strings.Repeat("1", 19) }, []string{"code"}},
		{"code of 18 digits", func(m *models.Medication) { m.Code = strings.Repeat("1", 18) }, nil},
		{"bad, unsorted and repeated times", func(m *models.Medication) {
			m.Schedule.Times = []string{"08:00", "24:00", "8:30", "07:00", "09:00", "09:00"}
		}, []string{"schedule.times[1]", "schedule.times[2]", "schedule.times[3]", "schedule.times[5]"}},
		{"no times", func(m *models.Medication) { m.Schedule.Times = nil }, []string{"schedule.times"}},
		{"13 times", func(m *models.Medication) {
			m.Schedule.Times = []string{"00:00", "01:00", "02:00", "03:00", "04:00", "05:00", "06:00", "07:00", "08:00", "09:00", "10:00", "11:00", "12:00"}
		}, []string{"schedule.times"}},
		{"as needed with times, days and interval", func(m *models.Medication) {
			m.Schedule.AsNeeded = true
			m.Schedule.EveryNDays = 2
		}, []string{"schedule.times", "schedule.daysOfWeek", "schedule.everyNDays"}},
		{"bad and repeated days", func(m *models.Medication) {
			m.Schedule.DaysOfWeek = []string{"Mon", "tue", "tue", "funday"}
		}, []string{"schedule.daysOfWeek[0]", "schedule.daysOfWeek[2]", "schedule.daysOfWeek[3]"}},
		{"every n days with days of week", func(m *models.Medication) { m.Schedule.EveryNDays = 2 }, []string{"schedule.everyNDays"}},
		{"every n days out of range", func(m *models.Medication) {
			m.Schedule.DaysOfWeek = nil
			m.Schedule.EveryNDays = 366
		}, []string{"schedule.everyNDays"}},
		{"negative every n days", func(m *models.Medication) {
			m.Schedule.DaysOfWeek = nil
			m.Schedule.EveryNDays = -1
		}, []string{"schedule.everyNDays"}},
		{"no start date", func(m *models.Medication) { m.Schedule.StartDate = "" }, []string{"schedule.startDate"}},
		{"bad dates", func(m *models.Medication) {
			m.Schedule.StartDate = "2026-02-30"
			m.Schedule.EndDate = "01/03/2026"
		}, []string{"schedule.startDate", "schedule.endDate"}},
		{"date out of years", func(m *models.Medication) { m.Schedule.StartDate = "0026-03-01" }, []string{"schedule.startDate"}},
		{"end before start", func(m *models.Medication) { m.Schedule.EndDate = "2026-02-28" }, []string{"schedule.endDate"}},
		{"bad stock", func(m *models.Medication) {
			m.Stock = &models.Stock{Quantity: -1, UnitsPerDose: 0, RefillLeadDays: 61}
		}, []string{"stock.quantity", "stock.unitsPerDose", "stock.refillLeadDays"}},
		{"empty stock is bad", func(m *models.Medication) { m.Stock = &models.Stock{} }, []string{"stock.unitsPerDose"}},
		{"no status", func(m *models.Medication) { m.Status = "" }, []string{"status"}},
		{"stopped without stoppedAt", func(m *models.Medication) { m.Status = models.MedicationStopped }, []string{"stoppedAt"}},
		{"active with stoppedAt", func(m *models.Medication) { m.StoppedAt = &stopped }, []string{"stoppedAt"}},
		{"everything reported at once", func(m *models.Medication) {
			m.Name = ""
			m.Schedule.Times = []string{"25:00"}
			m.Stock.UnitsPerDose = -2
		}, []string{"name", "schedule.times[0]", "stock.unitsPerDose"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := medValid()
			tt.edit(&m)
			got := medProblemFields(t, m.Validate())
			if diff := cmp.Diff(tt.fields, got); diff != "" {
				t.Errorf("Validate() fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScheduleNormalized(t *testing.T) {
	tests := []struct {
		name string
		in   models.Schedule
		want models.Schedule
	}{
		{
			name: "sorts and de-duplicates",
			in:   models.Schedule{Times: []string{"20:00", " 08:00", "08:00"}, DaysOfWeek: []string{"SUN", "mon", "Fri", "mon"}, StartDate: "2026-03-01"},
			want: models.Schedule{Times: []string{"08:00", "20:00"}, DaysOfWeek: []string{"mon", "fri", "sun"}, StartDate: "2026-03-01"},
		},
		{
			name: "keeps unknown days last for Validate to name",
			in:   models.Schedule{Times: []string{"08:00"}, DaysOfWeek: []string{"xyz", "tue"}},
			want: models.Schedule{Times: []string{"08:00"}, DaysOfWeek: []string{"tue", "xyz"}},
		},
		{
			name: "nil stays nil",
			in:   models.Schedule{AsNeeded: true},
			want: models.Schedule{AsNeeded: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := tt.in.Times
			origFirst := ""
			if len(orig) > 0 {
				origFirst = orig[0]
			}
			got := tt.in.Normalized()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Normalized() (-want +got):\n%s", diff)
			}
			if len(orig) > 0 && orig[0] != origFirst {
				t.Errorf("Normalized() changed its receiver's times")
			}
		})
	}
}

func TestMedicationStop(t *testing.T) {
	m := medValid()
	now := time.Date(2026, 3, 10, 9, 0, 0, 123456789, time.UTC)
	if !m.Stop(now) {
		t.Fatal("Stop() on an active medication = false, want true")
	}
	want := now // kept to the millisecond by the store (store.TestTimesKeptToTheMillisecond)
	if m.Status != models.MedicationStopped || m.StoppedAt == nil || !m.StoppedAt.Equal(want) || !m.UpdatedAt.Equal(want) {
		t.Fatalf("after Stop: status %q stoppedAt %v updatedAt %v, want stopped at %v", m.Status, m.StoppedAt, m.UpdatedAt, want)
	}
	if err := m.Validate(); err != nil {
		t.Errorf("stopped medication does not validate: %v", err)
	}
	if m.Stop(now.Add(time.Hour)) {
		t.Error("Stop() on a stopped medication = true, want false")
	}
	if !m.StoppedAt.Equal(want) {
		t.Errorf("second Stop moved stoppedAt to %v", m.StoppedAt)
	}
}
