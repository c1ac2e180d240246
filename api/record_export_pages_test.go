package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestRecordExportPagesAndDeleted: an export of more readings than one
// store page (500) holds every reading exactly once, in both formats: 1000
// live readings are two full pages and an empty third read; the 1001st,
// deleted by the patient, is in the JSON export's deletedReadings with its
// deletedAt and in the FHIR Bundle as an entered-in-error Observation.
func TestRecordExportPagesAndDeleted(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	p := h.register(t, "pages@example.org", "patient")
	start := h.clock.Now().Add(-1001 * time.Minute)
	for sent := 0; sent < 1001; {
		n := min(500, 1001-sent)
		batch := make([]map[string]any, n)
		for i := range batch {
			batch[i] = map[string]any{"id": fmt.Sprintf("0b5e6c1e-8d3a-4f7e-9c2a-%012d", sent+i), "type": "heart_rate", "unit": "/min",
				"value": 60 + (sent+i)%40, "takenAt": start.Add(time.Duration(sent+i) * time.Minute).Format(time.RFC3339)}
		}
		if r := h.do(t, "POST", "/v1/patients/me/readings/batch", p.Access, map[string]any{"readings": batch}); r.status != http.StatusOK {
			t.Fatalf("batch: %d %s", r.status, r.body)
		}
		sent += n
	}
	deleted := fmt.Sprintf("0b5e6c1e-8d3a-4f7e-9c2a-%012d", 500)
	if r := h.do(t, "DELETE", "/v1/patients/me/readings/"+deleted, p.Access, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}

	r := h.do(t, "GET", "/v1/patients/me/export", p.Access, nil)
	var doc struct {
		Readings []struct {
			ID string `json:"id"`
		} `json:"readings"`
		DeletedReadings []struct {
			ID        string    `json:"id"`
			DeletedAt time.Time `json:"deletedAt"`
			Value     float64   `json:"value"`
		} `json:"deletedReadings"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatalf("json export: %v (%d bytes)", err, len(r.body))
	}
	seen := map[string]bool{}
	for _, x := range doc.Readings {
		if seen[x.ID] || x.ID == deleted {
			t.Fatalf("reading %s repeated or deleted in readings", x.ID)
		}
		seen[x.ID] = true
	}
	if len(seen) != 1000 {
		t.Errorf("%d live readings exported, want 1000", len(seen))
	}
	if len(doc.DeletedReadings) != 1 || doc.DeletedReadings[0].ID != deleted || doc.DeletedReadings[0].DeletedAt.IsZero() ||
		doc.DeletedReadings[0].Value != 60+500%40 {
		t.Errorf("deletedReadings %+v, want %s with its deletedAt", doc.DeletedReadings, deleted)
	}

	r = h.do(t, "GET", "/v1/patients/me/export?format=fhir", p.Access, nil)
	var bundle struct {
		Entry []struct {
			Resource struct {
				ResourceType string `json:"resourceType"`
				ID           string `json:"id"`
				Status       string `json:"status"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(r.body, &bundle); err != nil {
		t.Fatalf("fhir export: %v", err)
	}
	status := map[string]string{}
	for _, e := range bundle.Entry {
		if e.Resource.ResourceType != "Observation" {
			continue
		}
		if _, dup := status[e.Resource.ID]; dup {
			t.Fatalf("Observation %s twice", e.Resource.ID)
		}
		status[e.Resource.ID] = e.Resource.Status
	}
	if len(status) != 1001 || status[deleted] != "entered-in-error" || status[fmt.Sprintf("0b5e6c1e-8d3a-4f7e-9c2a-%012d", 1000)] != "final" {
		t.Errorf("%d Observations, the deleted one %q, want 1001 and entered-in-error", len(status), status[deleted])
	}
}
