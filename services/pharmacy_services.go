package services

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/concord-health/concord/models"
)

// EpisodeStore is what PharmacyServices needs of episode storage
// (store.ServiceEpisodes).
type EpisodeStore interface {
	Insert(ctx context.Context, e models.ServiceEpisode) error
	Get(ctx context.Context, id string) (models.ServiceEpisode, error)
	Replace(ctx context.Context, next models.ServiceEpisode, prevVersion int) (bool, error)
	OfPatient(ctx context.Context, patientID string, limit int) ([]models.ServiceEpisode, error)
	Queue(ctx context.Context, q models.ServiceEpisodeQuery) ([]models.ServiceEpisode, error)
}

// ServiceSources are the services a pharmacy service reads and changes
// the patient's record through: medicines (a discharge reconciliation
// changes them), readings (clinic and ambulatory blood pressure), doses
// (adherence evidence) and review flags (a referral resolves the flag
// that led to it).
type ServiceSources struct {
	Medications *Medications
	Readings    *Readings
	Doses       *Doses
	Flags       *Flags
}

// PharmacyServices records the NHS services a community pharmacy
// delivers, as the rules table (models.ServiceStageRules) lays them out:
// the New Medicine Service, the Blood Pressure Check Service, the
// Discharge Medicines Service (stage one) and referrals for Structured
// Medication Reviews. Callers authorise the patient first (the access
// policy, which audits it); only a pharmacist of the patient's nominated
// pharmacy records.
type PharmacyServices struct {
	store  EpisodeStore
	src    ServiceSources
	access *Access
	users  UserDirectory
	notes  *Notifications
	now    func() time.Time
	log    *slog.Logger
}

// NewPharmacyServices returns the pharmacy services.
func NewPharmacyServices(store EpisodeStore, src ServiceSources, access *Access, users UserDirectory, notes *Notifications,
	now func() time.Time, log *slog.Logger) *PharmacyServices {
	return &PharmacyServices{store: store, src: src, access: access, users: users, notes: notes, now: now, log: log}
}

// EpisodeView is an episode as the app and the pharmacy read it: its
// stages' states worked out now, and in plain words which service the
// patient is in and what happens next.
type EpisodeView struct {
	models.ServiceEpisode
	PatientName string `json:"patientName,omitempty"`
	Summary     string `json:"summary"`
	NextStep    string `json:"nextStep"`
}

// Episode-list limits.
const (
	MaxPatientEpisodes = 100
	DefaultServicePage = 50
	MaxServicePage     = 200
)

var errEpisodeNotFound = models.Errorf(models.CodeNotFound, "service episode not found")

// pharmacist returns the caller's account if they are a pharmacist of a
// pharmacy. Errors: forbidden.
func (s *PharmacyServices) pharmacist(ctx context.Context, p models.Principal) (models.User, error) {
	me, ok, err := s.access.Pharmacist(ctx, p)
	if err != nil {
		return models.User{}, err
	}
	if !ok {
		return models.User{}, models.Errorf(models.CodeForbidden, "only a pharmacist of the patient's pharmacy records services")
	}
	return me, nil
}

// view works out the episode's states at now and its words.
func (s *PharmacyServices) view(ctx context.Context, e models.ServiceEpisode, patient models.User) EpisodeView {
	now := s.now()
	e.Refresh(now, patient.Location())
	for i, c := range e.Consultations {
		if u, err := s.users.Get(ctx, c.By); err == nil {
			e.Consultations[i].ByName = u.Name
		}
	}
	summary, next := describeEpisode(e, patient.Location(), now)
	return EpisodeView{ServiceEpisode: e, Summary: summary, NextStep: next}
}

// List returns the patient's episodes, newest first (at most
// MaxPatientEpisodes).
func (s *PharmacyServices) List(ctx context.Context, patient models.User) ([]EpisodeView, error) {
	eps, err := s.store.OfPatient(ctx, patient.ID, MaxPatientEpisodes)
	if err != nil {
		return nil, err
	}
	out := make([]EpisodeView, 0, len(eps))
	for _, e := range eps {
		out = append(out, s.view(ctx, e, patient))
	}
	return out, nil
}

// Get returns one of the patient's episodes. Errors: not_found.
func (s *PharmacyServices) Get(ctx context.Context, patient models.User, id string) (EpisodeView, error) {
	e, err := s.episode(ctx, patient, id)
	if err != nil {
		return EpisodeView{}, err
	}
	return s.view(ctx, e, patient), nil
}

func (s *PharmacyServices) episode(ctx context.Context, patient models.User, id string) (models.ServiceEpisode, error) {
	e, err := s.store.Get(ctx, id)
	if models.IsCode(err, models.CodeNotFound) || (err == nil && e.PatientID != patient.ID) {
		return models.ServiceEpisode{}, errEpisodeNotFound
	}
	return e, err
}

// recordable loads the patient's episode for the pharmacist me to record
// in: it must be their pharmacy's, and active. Errors: not_found,
// conflict (completed or closed).
func (s *PharmacyServices) recordable(ctx context.Context, me, patient models.User, id string, service models.ServiceKind) (models.ServiceEpisode, error) {
	e, err := s.episode(ctx, patient, id)
	if err != nil {
		return e, err
	}
	if e.PharmacyID != me.PharmacyID || e.Service != service {
		return e, errEpisodeNotFound
	}
	if e.Status != models.EpisodeActive {
		return e, models.Errorf(models.CodeConflict, "the episode is %s", e.Status)
	}
	return e, nil
}

// stageOpen checks that the stage may be recorded at now: its window is
// open (or its target deadline, which may be passed), the stage before it
// is done, and it is not done yet. Errors: conflict naming why.
func stageOpen(e models.ServiceEpisode, stage string, now time.Time, loc *time.Location) error {
	e.Refresh(now, loc)
	i := e.Stage(stage)
	if i < 0 {
		return models.Errorf(models.CodeConflict, "the %s has no %s stage", e.Service, stage)
	}
	st := e.Stages[i]
	switch st.State {
	case models.StageDue, models.StageOverdue:
		return nil
	case models.StageDone, models.StageDoneLate:
		return models.Errorf(models.CodeConflict, "the %s stage is already recorded", stage)
	case models.StageUpcoming:
		return models.Errorf(models.CodeConflict, "the %s window opens on %s", stage, st.WindowFrom)
	case models.StageMissed:
		return models.Errorf(models.CodeConflict, "the %s window closed on %s: the stage was missed", stage, st.WindowTo)
	}
	return models.Errorf(models.CodeConflict, "the stage before %s is not recorded yet", stage)
}

// consult appends a consultation by me at `at` for the stage and marks
// the stage done; it returns the consultation's id.
func consult(e *models.ServiceEpisode, me models.User, stage string, at time.Time, f models.Findings, outcome models.ConsultationOutcome,
	ref *models.ServiceReferral, loc *time.Location) string {
	id := strconv.Itoa(len(e.Consultations) + 1)
	e.Consultations = append(e.Consultations, models.Consultation{ID: id, Stage: stage, By: me.ID, At: at, Findings: f, Outcome: outcome, Referral: ref})
	e.MarkDone(stage, at, id, loc)
	return id
}

// newEpisode starts an episode of the service for the patient at me's
// pharmacy at now, its stages planned.
func newEpisode(id string, service models.ServiceKind, me, patient models.User, now time.Time) models.ServiceEpisode {
	e := models.ServiceEpisode{ID: id, PatientID: patient.ID, PharmacyID: me.PharmacyID, Service: service, Status: models.EpisodeActive,
		Consultations: []models.Consultation{}, CreatedAt: now, UpdatedAt: now}
	e.PlanStages(now, patient.Location())
	return e
}

// insert stores a new episode with its queue place.
func (s *PharmacyServices) insert(ctx context.Context, e models.ServiceEpisode, patient models.User) (EpisodeView, error) {
	e.Refresh(s.now(), patient.Location())
	if err := s.store.Insert(ctx, e); err != nil {
		return EpisodeView{}, err
	}
	s.log.InfoContext(ctx, "service episode started", "patient", patient.ID, "episode", e.ID, "service", e.Service)
	return s.view(ctx, e, patient), nil
}

// save stores next in place of prev (compare-and-set on the version).
// Errors: conflict when the episode changed since it was read.
func (s *PharmacyServices) save(ctx context.Context, next models.ServiceEpisode, prevVersion int, patient models.User) (EpisodeView, error) {
	now := s.now().UTC()
	next.Version, next.UpdatedAt = prevVersion+1, now
	next.Refresh(now, patient.Location())
	ok, err := s.store.Replace(ctx, next, prevVersion)
	if err != nil {
		return EpisodeView{}, err
	}
	if !ok {
		return EpisodeView{}, models.Errorf(models.CodeConflict, "the episode changed while this was recorded; read it again")
	}
	s.log.InfoContext(ctx, "service episode recorded", "patient", patient.ID, "episode", next.ID, "status", next.Status)
	return s.view(ctx, next, patient), nil
}

// Close ends an active episode without its remaining stages (a missed
// window, the patient declined or stopped the medicine). Errors:
// forbidden, not_found, invalid (reason), conflict.
func (s *PharmacyServices) Close(ctx context.Context, p models.Principal, patient models.User, id, reason string) (EpisodeView, error) {
	me, err := s.pharmacist(ctx, p)
	if err != nil {
		return EpisodeView{}, err
	}
	reason = strings.TrimSpace(reason)
	var pr models.Problems
	if reason == "" {
		pr.Add("reason", "is required")
	} else {
		models.ValidateText("reason", reason, models.MaxServiceTextLength, true, &pr)
	}
	if err := pr.Err(); err != nil {
		return EpisodeView{}, err
	}
	e, err := s.episode(ctx, patient, id)
	if err != nil {
		return EpisodeView{}, err
	}
	if e.PharmacyID != me.PharmacyID {
		return EpisodeView{}, errEpisodeNotFound
	}
	if e.Status != models.EpisodeActive {
		return EpisodeView{}, models.Errorf(models.CodeConflict, "the episode is %s", e.Status)
	}
	prev := e.Version
	e.Status, e.CloseReason = models.EpisodeClosed, reason
	return s.save(ctx, e, prev, patient)
}

// ServiceQuery asks for a page of the caller's pharmacy's service queue.
type ServiceQuery struct {
	Limit  int
	Cursor string
}

// ServicePage is one page of the service queue: active episodes, the one
// whose next stage closes soonest first (missed ones, whose window has
// closed, before them all). NextCursor is "" on the last page.
type ServicePage struct {
	Items      []EpisodeView `json:"items"`
	NextCursor string        `json:"nextCursor,omitempty"`
}

// Queue returns a page of the caller's pharmacy's active episodes, each
// patient authorised (and audited) by the access policy; episodes of a
// patient it refuses are left out. Errors: forbidden, invalid.
func (s *PharmacyServices) Queue(ctx context.Context, p models.Principal, q ServiceQuery) (ServicePage, error) {
	me, err := s.pharmacist(ctx, p)
	if err != nil {
		return ServicePage{}, err
	}
	mq := models.ServiceEpisodeQuery{PharmacyID: me.PharmacyID, Limit: q.Limit}
	var pr models.Problems
	switch {
	case mq.Limit == 0:
		mq.Limit = DefaultServicePage
	case mq.Limit < 1 || mq.Limit > MaxServicePage:
		pr.Add("limit", "must be between 1 and %d", MaxServicePage)
	}
	if q.Cursor != "" {
		at, id, ok := decodeServiceCursor(q.Cursor)
		if !ok {
			pr.Add("cursor", "is not a cursor this server issued; start again without one")
		}
		mq.AfterDue, mq.AfterID = &at, id
	}
	if err := pr.Err(); err != nil {
		return ServicePage{}, err
	}
	limit := mq.Limit
	mq.Limit++
	eps, err := s.store.Queue(ctx, mq)
	if err != nil {
		return ServicePage{}, err
	}
	page := ServicePage{Items: []EpisodeView{}}
	if len(eps) > limit {
		eps = eps[:limit]
		last := eps[limit-1]
		page.NextCursor = encodeServiceCursor(queueAt(last), last.ID)
	}
	patients := map[string]*models.User{}
	for _, e := range eps {
		pt, seen := patients[e.PatientID]
		if !seen {
			u, err := s.access.AuthorizeResource(ctx, p, e.PatientID, ReadServices, "services")
			switch {
			case models.IsCode(err, models.CodeNotFound) || models.IsCode(err, models.CodeForbidden):
			case err != nil:
				return ServicePage{}, err
			default:
				pt = &u
			}
			patients[e.PatientID] = pt
		}
		if pt == nil {
			continue
		}
		v := s.view(ctx, e, *pt)
		v.PatientName = pt.Name
		page.Items = append(page.Items, v)
	}
	return page, nil
}

// queueAt is the episode's place in the queue as stored.
func queueAt(e models.ServiceEpisode) time.Time {
	if e.NextDue != nil {
		return *e.NextDue
	}
	return time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
}

func encodeServiceCursor(at time.Time, id string) string { return encodeTimeCursor("s1", at, id) }

func decodeServiceCursor(c string) (time.Time, string, bool) { return decodeTimeCursor("s1", c) }

// validateFindings checks what a pharmacist wrote.
func validateFindings(f models.Findings, p *models.Problems) {
	for _, t := range []struct{ field, text string }{
		{"findings.problems", f.Problems}, {"findings.sideEffects", f.SideEffects}, {"findings.advice", f.Advice},
	} {
		if t.text != "" {
			models.ValidateText(t.field, t.text, models.MaxServiceTextLength, true, p)
		}
	}
}

// pharmacistFindings keeps only what a pharmacist may write of findings,
// trimmed.
func pharmacistFindings(f models.Findings) models.Findings {
	return models.Findings{Problems: strings.TrimSpace(f.Problems), SideEffects: strings.TrimSpace(f.SideEffects), Advice: strings.TrimSpace(f.Advice)}
}

// medicationAdherence is the 28-day adherence evidence of one medicine
// (or of all, for ""), from the dose log.
func (s *PharmacyServices) medicationAdherence(ctx context.Context, patient models.User, medicationID string, now time.Time) (*models.AdherenceEvidence, error) {
	a, err := s.src.Doses.Adherence(ctx, patient, models.DefaultAdherenceWindowDays, now)
	if err != nil {
		return nil, err
	}
	if medicationID == "" {
		return models.AdherenceEvidenceOf("", a.WindowDays, now, a.Overall), nil
	}
	i := slices.IndexFunc(a.Medications, func(m models.MedicationAdherence) bool { return m.MedicationID == medicationID })
	if i < 0 {
		return models.AdherenceEvidenceOf(medicationID, a.WindowDays, now, models.AdherenceFigures{}), nil
	}
	return models.AdherenceEvidenceOf(medicationID, a.WindowDays, now, a.Medications[i].AdherenceFigures), nil
}
