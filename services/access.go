package services

import (
	"context"

	"github.com/concord-health/concord/models"
)

// Action is something done to a patient's data; the access policy decides
// each one.
type Action string

// The actions on a patient's data.
const (
	ReadReadings     Action = "readings.read"
	WriteReadings    Action = "readings.write"
	ReadMedications  Action = "medications.read"
	WriteMedications Action = "medications.write"
	ReadDoses        Action = "doses.read"
	WriteDoses       Action = "doses.write"
	ReadAdherence    Action = "adherence.read"
	ReadSummary      Action = "summary.read"
	ManageCarers     Action = "carers.manage"
	ManagePharmacy   Action = "pharmacy.manage"
	ReadAccessLog    Action = "access_log.read"
)

// PatientDirectory finds accounts by id.
type PatientDirectory interface {
	Get(ctx context.Context, id string) (models.User, error)
}

// Access is the one access policy for a patient's data: every route under
// /v1/patients/{patientId} asks it, and nothing else decides.
type Access struct {
	users PatientDirectory
}

// NewAccess returns the access policy.
func NewAccess(users PatientDirectory) *Access {
	return &Access{users: users}
}

// Authorize decides whether p may do action to the patient's data and
// returns the patient's account. A caller with no relationship to the
// patient — or asking about someone who is not a patient, or does not exist
// — gets not_found, so they cannot learn that the patient exists.
func (a *Access) Authorize(ctx context.Context, p models.Principal, patientID string, action Action) (models.User, error) {
	notFound := models.Errorf(models.CodeNotFound, "patient not found")
	if patientID == "" || p.UserID == "" {
		return models.User{}, notFound
	}
	patient, err := a.users.Get(ctx, patientID)
	if models.IsCode(err, models.CodeNotFound) {
		return models.User{}, notFound
	}
	if err != nil {
		return models.User{}, err
	}
	if patient.Role != models.RolePatient {
		return models.User{}, notFound
	}
	if p.UserID == patient.ID && p.Role == models.RolePatient {
		return patient, nil
	}
	return models.User{}, notFound
}
