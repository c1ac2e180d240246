package services

import (
	"context"
	"time"

	"github.com/concord-health/concord/models"
)

// ExportSources are the stores a patient's export reads, each a page or a
// bounded list at a time.
type ExportSources struct {
	Readings interface {
		List(ctx context.Context, q models.ReadingQuery) ([]models.Reading, error)
		Changed(ctx context.Context, patientID string, after models.ChangeKey, upTo time.Time, limit int) ([]models.Reading, error)
	}
	Medications interface {
		ListByPatient(ctx context.Context, patientID string) ([]models.Medication, error)
	}
	Doses interface {
		ListByPatient(ctx context.Context, patientID string, from, to time.Time) ([]models.Dose, error)
	}
	Flags interface {
		OfPatient(ctx context.Context, patientID string) ([]models.Flag, error)
	}
	Consents interface {
		History(ctx context.Context, patientID string) ([]models.Consent, error)
	}
	Pharmacies interface {
		Get(ctx context.Context, id string) (models.Pharmacy, error)
	}
	Care interface {
		StandingLinks(ctx context.Context, patientID string, limit int) ([]models.CareLink, error)
		RevokedLinks(ctx context.Context, patientID string, limit int) ([]models.CareLink, error)
		Invitations(ctx context.Context, patientID string, limit int) ([]models.CareInvitation, error)
	}
	Audit interface {
		List(ctx context.Context, patientID, before string, limit int) ([]models.AuditEntry, error)
	}
	Notifications interface {
		Inbox(ctx context.Context, recipientID string, now time.Time, after *models.InboxKey, limit int) ([]models.Notification, error)
	}
	Devices interface {
		ForUser(ctx context.Context, userID string) ([]models.Device, error)
	}
}

// The sections of an export, in the order Walk visits them. A dose always
// comes after its medicine.
const (
	SectionReadings = "readings"
	// SectionDeletedReadings holds the readings the patient deleted:
	// Concord still holds them (the change feed tells other devices of the
	// deletion), so they are part of the patient's copy, marked deleted.
	SectionDeletedReadings = "deletedReadings"
	SectionMedications     = "medications"
	SectionDoses           = "doses"
	SectionFlags           = "flags"
	SectionConsents        = "consents"
	SectionCarers          = "carers"
	SectionInvitations     = "invitations"
	SectionAccessLog       = "accessLog"
	SectionNotifications   = "notifications"
	SectionDevices         = "devices"
)

// DeletedReading is a reading the patient deleted, with when.
type DeletedReading struct {
	models.Reading
	DeletedAt time.Time `json:"deletedAt"`
}

// ExportedFlag is a review flag with the pharmacy it was raised for (nil
// if that pharmacy no longer exists).
type ExportedFlag struct {
	models.Flag
	Pharmacy *models.Pharmacy `json:"pharmacy,omitempty"`
}

// ExportedConsent is a consent record with its pharmacy (nil if that
// pharmacy no longer exists).
type ExportedConsent struct {
	models.Consent
	Pharmacy *models.Pharmacy `json:"pharmacy,omitempty"`
}

// ExportVisitor receives a patient's record, section by section: Begin
// before each section (every section, even an empty one), then its items:
// models.Reading, models.Medication, models.Dose, ExportedFlag,
// ExportedConsent, models.CareLink, models.CareInvitation,
// models.AuditEntry, models.Notification, models.Device.
type ExportVisitor interface {
	Begin(section string) error
	Item(v any) error
}

// Export walks everything Concord holds about a patient, for their copy
// of it (UK GDPR right of access and portability).
type Export struct {
	src ExportSources
	now func() time.Time
}

// NewExport returns the export service.
func NewExport(src ExportSources, now func() time.Time) *Export {
	return &Export{src: src, now: now}
}

// exportPage is how many records one read returns: an export of any size
// holds at most a page of readings, doses, log entries or notifications
// at once.
const exportPage = 500

// doseWindow is the span of scheduled time one read of doses covers.
const doseWindow = 31 * 24 * time.Hour

// exportListCap bounds the lists read whole (links, invitations): far
// above what the caps on them allow to exist at once.
const exportListCap = 10000

// Walk visits the patient's record in section order. Readings are the
// live ones, newest first; doses are those scheduled up to the planning
// horizon, oldest first; flags of every pharmacy; the access log newest
// first; notifications as the inbox shows them. Errors: the stores' and
// the visitor's; after one the visit stops where it was.
func (e *Export) Walk(ctx context.Context, patient models.User, v ExportVisitor) error {
	steps := []struct {
		section string
		walk    func(context.Context, models.User, ExportVisitor) error
	}{
		{SectionReadings, e.readings},
		{SectionDeletedReadings, e.deletedReadings},
		{SectionMedications, e.medications},
		{SectionDoses, e.doses},
		{SectionFlags, e.flags},
		{SectionConsents, e.consents},
		{SectionCarers, e.carers},
		{SectionInvitations, e.invitations},
		{SectionAccessLog, e.accessLog},
		{SectionNotifications, e.notifications},
		{SectionDevices, e.devices},
	}
	for _, st := range steps {
		if err := v.Begin(st.section); err != nil {
			return err
		}
		if err := st.walk(ctx, patient, v); err != nil {
			return err
		}
	}
	return nil
}

func items[T any](v ExportVisitor, list []T) error {
	for _, x := range list {
		if err := v.Item(x); err != nil {
			return err
		}
	}
	return nil
}

func (e *Export) readings(ctx context.Context, p models.User, v ExportVisitor) error {
	var after *models.ReadingKey
	for {
		page, err := e.src.Readings.List(ctx, models.ReadingQuery{PatientID: p.ID, After: after, Limit: exportPage})
		if err != nil {
			return err
		}
		if err := items(v, page); err != nil {
			return err
		}
		if len(page) < exportPage {
			return nil
		}
		k := page[len(page)-1].Key()
		after = &k
	}
}

// deletedReadings reads every reading by the change feed's order
// (updatedAt, id), a page at a time, and visits the deleted ones. The
// walk has no upper bound in time: a change's updatedAt can run ahead of
// the clock (the stores stamp a deletion at least a millisecond after the
// reading's last change).
func (e *Export) deletedReadings(ctx context.Context, p models.User, v ExportVisitor) error {
	upTo := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	var after models.ChangeKey
	for {
		page, err := e.src.Readings.Changed(ctx, p.ID, after, upTo, exportPage)
		if err != nil {
			return err
		}
		for _, r := range page {
			if r.DeletedAt == nil {
				continue
			}
			if err := v.Item(DeletedReading{Reading: r, DeletedAt: *r.DeletedAt}); err != nil {
				return err
			}
		}
		if len(page) < exportPage {
			return nil
		}
		last := page[len(page)-1]
		after = models.ChangeKey{At: last.UpdatedAt, ID: last.ID}
	}
}

func (e *Export) medications(ctx context.Context, p models.User, v ExportVisitor) error {
	meds, err := e.src.Medications.ListByPatient(ctx, p.ID)
	if err != nil {
		return err
	}
	return items(v, meds)
}

// doses reads the doses window by window, from the first medicine's
// creation (or earliest start date) to a fortnight ahead (past the
// planning horizon).
func (e *Export) doses(ctx context.Context, p models.User, v ExportVisitor) error {
	meds, err := e.src.Medications.ListByPatient(ctx, p.ID)
	if err != nil || len(meds) == 0 {
		return err
	}
	from := meds[0].CreatedAt
	for _, m := range meds {
		if m.CreatedAt.Before(from) {
			from = m.CreatedAt
		}
		if d, err := time.Parse(time.DateOnly, m.Schedule.StartDate); err == nil && d.Add(-14*time.Hour).Before(from) {
			from = d.Add(-14 * time.Hour) // the earliest zone's midnight
		}
	}
	end := e.now().UTC().Add(14 * 24 * time.Hour)
	for start := from; start.Before(end); start = start.Add(doseWindow) {
		stop := start.Add(doseWindow)
		if stop.After(end) {
			stop = end
		}
		doses, err := e.src.Doses.ListByPatient(ctx, p.ID, start, stop)
		if err != nil {
			return err
		}
		if err := items(v, doses); err != nil {
			return err
		}
	}
	return nil
}

// pharmacy returns a pharmacy by id, nil if it no longer exists; known
// remembers the ones read.
func (e *Export) pharmacy(ctx context.Context, id string, known map[string]*models.Pharmacy) (*models.Pharmacy, error) {
	if ph, ok := known[id]; ok {
		return ph, nil
	}
	ph, err := e.src.Pharmacies.Get(ctx, id)
	if models.IsCode(err, models.CodeNotFound) {
		known[id] = nil
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	known[id] = &ph
	return &ph, nil
}

func (e *Export) flags(ctx context.Context, p models.User, v ExportVisitor) error {
	flags, err := e.src.Flags.OfPatient(ctx, p.ID)
	if err != nil {
		return err
	}
	return withPharmacies(ctx, e, v, flags, func(f models.Flag) string { return f.PharmacyID },
		func(f models.Flag, ph *models.Pharmacy) any { return ExportedFlag{Flag: f, Pharmacy: ph} })
}

func (e *Export) consents(ctx context.Context, p models.User, v ExportVisitor) error {
	history, err := e.src.Consents.History(ctx, p.ID)
	if err != nil {
		return err
	}
	return withPharmacies(ctx, e, v, history, func(c models.Consent) string { return c.PharmacyID },
		func(c models.Consent, ph *models.Pharmacy) any { return ExportedConsent{Consent: c, Pharmacy: ph} })
}

// withPharmacies hands each record to v beside the pharmacy it names
// (read once per pharmacy; nil if it no longer exists), as wrap makes it.
func withPharmacies[T any](ctx context.Context, e *Export, v ExportVisitor, list []T, pharmacyID func(T) string, wrap func(T, *models.Pharmacy) any) error {
	known := map[string]*models.Pharmacy{}
	for _, x := range list {
		ph, err := e.pharmacy(ctx, pharmacyID(x), known)
		if err != nil {
			return err
		}
		if err := v.Item(wrap(x, ph)); err != nil {
			return err
		}
	}
	return nil
}

func (e *Export) carers(ctx context.Context, p models.User, v ExportVisitor) error {
	standing, err := e.src.Care.StandingLinks(ctx, p.ID, exportListCap)
	if err != nil {
		return err
	}
	revoked, err := e.src.Care.RevokedLinks(ctx, p.ID, exportListCap)
	if err != nil {
		return err
	}
	return items(v, append(standing, revoked...))
}

func (e *Export) invitations(ctx context.Context, p models.User, v ExportVisitor) error {
	invs, err := e.src.Care.Invitations(ctx, p.ID, exportListCap)
	if err != nil {
		return err
	}
	now := e.now().UTC()
	for i := range invs {
		invs[i].Status = invs[i].StatusAt(now)
	}
	return items(v, invs)
}

func (e *Export) accessLog(ctx context.Context, p models.User, v ExportVisitor) error {
	before := ""
	for {
		page, err := e.src.Audit.List(ctx, p.ID, before, exportPage)
		if err != nil {
			return err
		}
		if err := items(v, page); err != nil {
			return err
		}
		if len(page) < exportPage {
			return nil
		}
		before = page[len(page)-1].ID
	}
}

func (e *Export) notifications(ctx context.Context, p models.User, v ExportVisitor) error {
	now := e.now().UTC()
	var after *models.InboxKey
	for {
		page, err := e.src.Notifications.Inbox(ctx, p.ID, now, after, exportPage)
		if err != nil {
			return err
		}
		if err := items(v, page); err != nil {
			return err
		}
		if len(page) < exportPage {
			return nil
		}
		last := page[len(page)-1]
		after = &models.InboxKey{DueAt: last.DueAt, ID: last.ID}
	}
}

func (e *Export) devices(ctx context.Context, p models.User, v ExportVisitor) error {
	devs, err := e.src.Devices.ForUser(ctx, p.ID)
	if err != nil {
		return err
	}
	return items(v, devs)
}
