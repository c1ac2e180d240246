package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/concord-health/concord/models"
)

// The helpers of the pharmacy, carer and access tests: they drive the API
// as a client would and fail the test when a step does not succeed.

// admin creates the first admin and logs in.
func (h *harness) firstAdmin(t *testing.T) account {
	t.Helper()
	if _, err := h.auth.EnsureAdmin(t.Context(), "root@example.org", "admin password 1"); err != nil {
		t.Fatalf("ensure admin: %v", err)
	}
	return h.loginAs(t, "root@example.org", "admin password 1")
}

func (h *harness) loginAs(t *testing.T, email, password string) account {
	t.Helper()
	r := h.do(t, "POST", "/v1/auth/login", "", map[string]any{"email": email, "password": password})
	if r.status != http.StatusOK {
		t.Fatalf("login %s: %d %s", email, r.status, r.body)
	}
	return accountOf(t, r)
}

// pharmacy registers a pharmacy and returns its id.
func (h *harness) newPharmacy(t *testing.T, admin account, ods, name, postcode string) string {
	t.Helper()
	r := h.do(t, "POST", "/v1/admin/pharmacies", admin.Access, map[string]any{"odsCode": ods, "name": name, "postcode": postcode})
	if r.status != http.StatusCreated {
		t.Fatalf("create pharmacy %s: %d %s", ods, r.status, r.body)
	}
	return r.json(t)["id"].(string)
}

// pharmacist creates a pharmacist of a pharmacy and logs in.
func (h *harness) newPharmacist(t *testing.T, admin account, email, pharmacyID string) account {
	t.Helper()
	r := h.do(t, "POST", "/v1/admin/users", admin.Access, map[string]any{
		"email": email, "password": "pharmacist password", "name": "Pharmacist " + email, "role": "pharmacist", "pharmacyId": pharmacyID,
	})
	if r.status != http.StatusCreated {
		t.Fatalf("create pharmacist %s: %d %s", email, r.status, r.body)
	}
	return h.loginAs(t, email, "pharmacist password")
}

// nominate has the patient nominate a pharmacy with consent.
func (h *harness) nominate(t *testing.T, patient account, pharmacyID string) {
	t.Helper()
	r := h.do(t, "PUT", "/v1/patients/me/pharmacy", patient.Access, map[string]any{"pharmacyId": pharmacyID, "consent": true})
	if r.status != http.StatusOK {
		t.Fatalf("nominate %s: %d %s", pharmacyID, r.status, r.body)
	}
}

// invite has the patient invite a carer and returns the code and the
// invitation's id.
func (h *harness) invite(t *testing.T, patient account, scopes ...models.CareScope) (code, id string) {
	t.Helper()
	r := h.do(t, "POST", "/v1/patients/me/carers/invitations", patient.Access, map[string]any{"scopes": scopes})
	if r.status != http.StatusCreated {
		t.Fatalf("invite: %d %s", r.status, r.body)
	}
	m := r.json(t)
	return m["code"].(string), m["invitation"].(map[string]any)["id"].(string)
}

// accept has the carer accept a code and returns the link id.
func (h *harness) accept(t *testing.T, carer account, code string) string {
	t.Helper()
	r := h.do(t, "POST", "/v1/care/invitations/accept", carer.Access, map[string]any{"code": code})
	if r.status != http.StatusCreated {
		t.Fatalf("accept: %d %s", r.status, r.body)
	}
	return r.json(t)["id"].(string)
}

// link invites the carer with scopes and has it accept; it returns the link id.
func (h *harness) linkCarer(t *testing.T, patient, carer account, scopes ...models.CareScope) string {
	t.Helper()
	code, _ := h.invite(t, patient, scopes...)
	return h.accept(t, carer, code)
}

// auditCount is how many access-log entries the patient has.
func (h *harness) auditCount(t *testing.T, patientID string) int64 {
	t.Helper()
	n, err := h.store.Audit().Count(t.Context(), patientID)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// allScopes is every care scope.
var allScopes = models.CareScopes

// scopesWithout is every care scope but one.
func scopesWithout(s models.CareScope) []models.CareScope {
	var out []models.CareScope
	for _, x := range models.CareScopes {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// later advances the clock and gives each account a fresh access token
// (access tokens live 15 minutes), updating them in place.
func (h *harness) later(t *testing.T, d time.Duration, accounts ...*account) {
	t.Helper()
	h.clock.Advance(d)
	for _, a := range accounts {
		r := h.do(t, "POST", "/v1/auth/refresh", "", map[string]any{"refreshToken": a.Refresh})
		if r.status != http.StatusOK {
			t.Fatalf("refresh %s: %d %s", a.Email, r.status, r.body)
		}
		*a = accountOf(t, r)
	}
}
