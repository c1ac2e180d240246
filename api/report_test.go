package api_test

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/concord-health/concord/models"
)

// pdfText extracts a PDF's text with poppler's pdftotext (-layout) and its
// page count with pdfinfo. Without the tools the test is skipped, except
// in CI (CONCORD_REQUIRE_PDFTOOLS=1 or CONCORD_REQUIRE_BROWSER=1, which
// .ci/run sets), where it fails: no report test is silently skipped there.
func pdfText(t *testing.T, pdf []byte) (text string, pages int) {
	t.Helper()
	for _, tool := range []string{"pdftotext", "pdfinfo"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CONCORD_REQUIRE_PDFTOOLS") == "1" || os.Getenv("CONCORD_REQUIRE_BROWSER") == "1" {
				t.Fatalf("%s is required here (apt-get install poppler-utils): %v", tool, err)
			}
			t.Skipf("%s not installed (apt-get install poppler-utils)", tool)
		}
	}
	path := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), "pdftotext", "-layout", path, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	info, err := exec.CommandContext(t.Context(), "pdfinfo", path).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfinfo: %v\n%s", err, info)
	}
	m := regexp.MustCompile(`(?m)^Pages:\s+(\d+)$`).FindSubmatch(info)
	if m == nil {
		t.Fatalf("pdfinfo printed no page count:\n%s", info)
	}
	fmt.Sscan(string(m[1]), &pages)
	// One space between words, whatever the layout put there.
	return regexp.MustCompile(`[ \t]+`).ReplaceAllString(string(out), " "), pages
}

// reportWorld is a patient with a fortnight of data: blood pressure on
// five days, glucose and a severe SpO2 reading, a medicine with stock
// taken once and missed twice, eight more medicines (more than the page
// lists), and the review flags those raise at the nominated pharmacy.
type reportWorld struct {
	patient, pharmacist, other account
	pharmacy                   string
	runOut                     string // the medicine's run-out date, from the summary
}

func newReportWorld(t *testing.T, h *harness) *reportWorld {
	t.Helper()
	w := &reportWorld{}
	admin := h.firstAdmin(t)
	w.pharmacy = h.newPharmacy(t, admin, "FR001", "Rho Pharmacy", "SW1A 1AA")
	otherPharmacy := h.newPharmacy(t, admin, "FR002", "Sigma Pharmacy", "M1 1AE")
	w.pharmacist = h.newPharmacist(t, admin, "ph-r@example.org", w.pharmacy)
	w.other = h.newPharmacist(t, admin, "ph-s@example.org", otherPharmacy)
	w.patient = h.register(t, "rose@example.org", "patient")
	if r := h.do(t, "PATCH", "/v1/me", w.patient.Access, map[string]any{"nhsNumber": "9991111115"}); r.status != http.StatusOK {
		t.Fatalf("nhs number: %d %s", r.status, r.body)
	}
	h.nominate(t, w.patient, w.pharmacy)

	// Blood pressure at 08:00 on 20-24 November; NICE leaves out the
	// first day: (140+138+142+146)/4 = 141.5, (90+88+86+92)/4 = 89.
	var readings []map[string]any
	for i, bp := range [][2]int{{150, 95}, {140, 90}, {138, 88}, {142, 86}, {146, 92}} {
		readings = append(readings, map[string]any{"type": "blood_pressure", "unit": "mm[Hg]", "systolic": bp[0], "diastolic": bp[1],
			"takenAt": time.Date(2026, 11, 20+i, 8, 0, 0, 0, time.UTC).Format(time.RFC3339)})
	}
	for i := range 7 {
		readings = append(readings, map[string]any{"type": "blood_glucose", "unit": "mmol/L", "value": 6.1,
			"takenAt": time.Date(2026, 11, 18+i, 12, 0, 0, 0, time.UTC).Format(time.RFC3339)})
	}
	readings = append(readings, map[string]any{"type": "spo2", "unit": "%", "value": 90,
		"takenAt": time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC).Format(time.RFC3339)})
	if r := h.do(t, "POST", "/v1/patients/me/readings/batch", w.patient.Access, map[string]any{"readings": readings}); r.status != http.StatusOK ||
		strings.Count(string(r.body), `"created"`) != len(readings) {
		t.Fatalf("readings: %d %s", r.status, r.body)
	}

	medID := h.addMedicine(t, w.patient, "Amlodipine", ptr(30.0))
	for i := range 8 {
		h.addMedicine(t, w.patient, fmt.Sprintf("Extra medicine %d", i+1), nil)
	}
	// The 26th's 08:00 dose is taken; the 27th's and 28th's are missed.
	h.later(t, 24*time.Hour, &w.patient, &w.pharmacist, &w.other)
	var dose string
	for _, d := range h.doseStatuses(t, w.patient, "2026-11-26T00:00:00Z", "2026-11-27T00:00:00Z") {
		if strings.Contains(d, medID) {
			dose, _, _ = strings.Cut(d, " ")
		}
	}
	h.mark(t, w.patient, escapeColon(dose), "taken", map[string]any{}, models.DoseTaken)
	h.later(t, 2*24*time.Hour+61*time.Minute, &w.patient, &w.pharmacist, &w.other)
	h.missDoses(t, w.patient.ID)
	if err := h.flags.Evaluate(t.Context(), h.user(t, w.patient.ID), h.clock.Now()); err != nil {
		t.Fatal(err)
	}

	r := h.do(t, "GET", "/v1/patients/me/summary", w.patient.Access, nil)
	if r.status != http.StatusOK {
		t.Fatalf("summary: %d %s", r.status, r.body)
	}
	m := regexp.MustCompile(`"runOutDate":"([0-9-]+)"`).FindSubmatch(r.body)
	if m == nil {
		t.Fatalf("summary has no run-out date: %s", r.body)
	}
	w.runOut = string(m[1])
	return w
}

// TestConsultationReport: the patient's report is one page whose text
// carries the NICE home average, the bands, the medicine's adherence and
// missed doses, its run-out date, the open flags and "and N more" where
// the page is full; the pharmacist of the nominated pharmacy gets the
// same; each request is in the access log; days outside 7..90 is 400.
func TestConsultationReport(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := newReportWorld(t, h)
	if w.runOut != "2026-12-27" { // 29 tablets left on the 28th, one a day
		t.Errorf("run-out date %s, want 2026-12-27", w.runOut)
	}

	for _, who := range []account{w.patient, w.pharmacist} {
		before := h.auditCount(t, w.patient.ID)
		r := h.do(t, "GET", "/v1/patients/"+w.patient.ID+"/report?days=28", who.Access, nil)
		if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/pdf" || r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("report as %s: %d %v %.200s", who.Email, r.status, r.header, r.body)
		}
		if n := h.auditCount(t, w.patient.ID) - before; n != 1 {
			t.Errorf("report as %s: %d access-log entries, want 1", who.Email, n)
		}
		text, pages := pdfText(t, r.body)
		if pages != 1 {
			t.Errorf("%d pages, want 1", pages)
		}
		for _, want := range []string{
			"Patient: Test patient",
			"NHS number: 999 111 1115",
			"Period: 1 Nov 2026 to 28 Nov 2026 (28 days)",
			"Home average (NICE NG136): 141.5/89 mmHg",
			"From 4 home readings over 4 days, the first day's readings left out",
			"Blood glucose: 7 readings, mean 6.1 mmol/L (6.1-6.1); bands: in range 100%",
			"Oxygen saturation (SpO2): 1 reading, mean 90 % (90-90); bands: severe 100%",
			"and 3 more", // 8 other readings, 5 listed
			"Amlodipine 33% 1/3 2 29 units " + w.runOut, // adherence, taken/due, missed, stock, run-out
			"and 2 more", // 9 medicines, 7 listed
			"severe reading (",
			"systolic", "diastolic", // the chart's legend
		} {
			if !strings.Contains(text, want) {
				t.Errorf("report as %s lacks %q:\n%s", who.Email, want, text)
			}
		}
	}

	for _, q := range []string{"days=6", "days=91", "days=x"} {
		r := h.do(t, "GET", "/v1/patients/me/report?"+q, w.patient.Access, nil)
		if r.status != http.StatusBadRequest || strings.Join(r.fields(t), ",") != "days" {
			t.Errorf("?%s: %d %s, want 400 naming days", q, r.status, r.body)
		}
	}
	r := h.do(t, "GET", "/v1/patients/me/report?days=7", w.patient.Access, nil)
	if text, _ := pdfText(t, r.body); r.status != http.StatusOK || !strings.Contains(text, "(7 days)") {
		t.Errorf("?days=7: %d %s", r.status, text)
	}
	// A patient with nothing logged still gets a page.
	empty := h.register(t, "empty@example.org", "patient")
	r = h.do(t, "GET", "/v1/patients/me/report", empty.Access, nil)
	if text, pages := pdfText(t, r.body); r.status != http.StatusOK || pages != 1 || !strings.Contains(text, "No blood pressure readings in this period.") {
		t.Errorf("empty report: %d %d %s", r.status, pages, text)
	}
}
