package fhircheck

import (
	"bytes"
	"testing"

	"github.com/concord-health/concord/fhir"
	"github.com/concord-health/concord/models"
)

// TestImportReadsTheExport: the import is the export's inverse. Every
// Observation of the validated export record decodes without a problem
// into the reading it was written from (type, instant, canonical values,
// glucose context, note), identified by the reading's own id, except a
// deleted reading's (entered-in-error), which is skipped as every other
// resource is.
func TestImportReadsTheExport(t *testing.T) {
	entries, err := fhir.DecodeReadings(exportRecord(t), 1000)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]models.Reading{}
	deleted, retracted := 0, 0
	for _, r := range recordReadings(t) {
		if r.DeletedAt != nil {
			deleted++
			continue
		}
		byID[r.ID] = r
	}
	readings := 0
	for _, e := range entries {
		if e.ResourceType == "Observation" && e.Skipped != "" { // a deleted reading, entered-in-error
			retracted++
			continue
		}
		if e.ResourceType != "Observation" {
			if e.Skipped == "" || e.Reading != nil {
				t.Errorf("entry %d (%s) was not skipped", e.Index, e.ResourceType)
			}
			continue
		}
		if e.Reading == nil {
			t.Errorf("entry %d: %v", e.Index, e.Problems)
			continue
		}
		readings++
		got := e.Reading.Reading
		want, ok := byID[e.Reading.OwnID]
		if !ok {
			t.Errorf("entry %d names no exported reading (own id %q)", e.Index, e.Reading.OwnID)
			continue
		}
		// Read it as the services would, then compare what was measured.
		if err := got.Normalize(exportNow); err != nil {
			t.Errorf("entry %d: %v", e.Index, err)
			continue
		}
		if got.Type != want.Type || !got.TakenAt.Equal(want.TakenAt) || !sameCanonical(got.Canonical, want.Canonical) ||
			got.Context != want.Context || got.Note != want.Note || e.Reading.Source != models.ReadingSourceImport {
			t.Errorf("entry %d came back as %+v (source %q), was %+v", e.Index, got, e.Reading.Source, want)
		}
	}
	if readings != len(byID) || retracted != deleted {
		t.Errorf("%d readings read back and %d skipped as entered in error, want %d and %d", readings, retracted, len(byID), deleted)
	}
}

// TestImportedDeviceExports: a reading imported from a device exports
// with Observation.device.display, still valid R4, and imports back with
// its source and device.
func TestImportedDeviceExports(t *testing.T) {
	r := recordReadings(t)[0]
	r.Source, r.Device = models.ReadingSourceDevice, "Omron M3 Comfort"
	var out bytes.Buffer
	enc, err := fhir.NewEncoder(&out, recordPatient(), fhir.Options{Now: exportNow})
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.Reading(r); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	mustValidate(t, "a Bundle with a device reading", out.Bytes())
	if !bytes.Contains(out.Bytes(), []byte(`"device":{"display":"Omron M3 Comfort"}`)) {
		t.Errorf("the Observation does not name its device:\n%s", indent(out.Bytes()))
	}
	entries, err := fhir.DecodeReadings(out.Bytes(), 10)
	if err != nil || len(entries) != 2 || entries[1].Reading == nil {
		t.Fatalf("decode: %v %+v", err, entries)
	}
	if got := entries[1].Reading; got.Source != models.ReadingSourceDevice || got.Device != "Omron M3 Comfort" {
		t.Errorf("imported back with source %q, device %q", got.Source, got.Device)
	}
}

func sameCanonical(a, b models.ReadingCanonical) bool {
	eq := func(x, y *float64) bool { return (x == nil && y == nil) || (x != nil && y != nil && *x == *y) }
	return a.Unit == b.Unit && eq(a.Value, b.Value) && eq(a.Systolic, b.Systolic) && eq(a.Diastolic, b.Diastolic) && eq(a.Pulse, b.Pulse)
}
