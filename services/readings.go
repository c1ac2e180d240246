package services

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/concord-health/concord/models"
)

// Limits of the readings routes.
const (
	// MaxReadingBatch is the most readings one batch upload may carry.
	MaxReadingBatch = 500
	// DefaultReadingPage and MaxReadingPage bound a page of readings.
	DefaultReadingPage = 50
	MaxReadingPage     = 200
	// DefaultSummaryDays and MaxSummaryDays bound a summary's window.
	DefaultSummaryDays = 30
	MaxSummaryDays     = 365
)

// ReadingStore is what Readings needs of reading storage.
type ReadingStore interface {
	// Insert stores a new reading; conflict if its id is taken.
	Insert(ctx context.Context, r models.Reading) error
	// InsertMany stores every reading whose id is free and returns the
	// positions of those whose id was taken.
	InsertMany(ctx context.Context, rs []models.Reading) (duplicates []int, err error)
	// Lookup returns the reading under id, any patient's, deleted or not.
	Lookup(ctx context.Context, id string) (models.Reading, error)
	// LookupMany is Lookup for many ids; missing ids are absent.
	LookupMany(ctx context.Context, ids []string) (map[string]models.Reading, error)
	// Get returns a live reading of the patient; not_found otherwise.
	Get(ctx context.Context, patientID, id string) (models.Reading, error)
	// List returns a page of live readings, newest first.
	List(ctx context.Context, q models.ReadingQuery) ([]models.Reading, error)
	// Range returns the patient's live readings of a type in [from, to).
	Range(ctx context.Context, patientID string, typ models.ReadingType, from, to time.Time) ([]models.Reading, error)
	// SoftDelete marks a live reading of the patient deleted.
	SoftDelete(ctx context.Context, patientID, id string, at time.Time) error
}

// ReadingObserver is told about every reading stored for the first time
// (never about a replay of a stored one), after it is stored: once per
// upload, with the one reading Create stored or every reading a batch
// stored (in upload order), so that it can act once for a batch.
// Review-flag rules and carer alerts plug in here. It handles its own
// errors: the readings are stored whatever it does.
type ReadingObserver interface {
	ReadingsStored(ctx context.Context, patient models.User, rs []models.Reading)
}

// ReadingStatus is what became of one reading of an upload.
type ReadingStatus string

// The outcomes of uploading a reading.
const (
	// ReadingCreated: stored now.
	ReadingCreated ReadingStatus = "created"
	// ReadingUnchanged: the same reading was already stored under its id
	// (a retried upload); the stored one stands.
	ReadingUnchanged ReadingStatus = "unchanged"
	// ReadingConflict: its id belongs to a different reading.
	ReadingConflict ReadingStatus = "conflict"
	// ReadingInvalid: the reading has invalid fields; nothing was stored.
	ReadingInvalid ReadingStatus = "invalid"
)

// ReadingResult is the outcome of one reading of a batch upload.
type ReadingResult struct {
	// ID is the reading's id: the client's, or the one the server gave a
	// valid reading sent without one; "" for an invalid reading sent
	// without one.
	ID     string
	Status ReadingStatus
	// Reading is the stored reading, when Status is created or unchanged.
	Reading *models.Reading
	// Err says why, when Status is conflict or invalid: a *models.Error
	// with code conflict, or invalid naming the bad fields.
	Err error
}

// ReadingListQuery asks for a page of a patient's readings.
type ReadingListQuery struct {
	// Type restricts the list to one type; "" means every type.
	Type models.ReadingType
	// From (inclusive) and To (exclusive) bound takenAt; zero is unbounded.
	From, To time.Time
	// Cursor continues a previous page: its NextCursor.
	Cursor string
	// Limit is the page size, 1 to MaxReadingPage; 0 means DefaultReadingPage.
	Limit int
}

// ReadingPage is one page of readings, newest first. NextCursor is "" on
// the last page.
type ReadingPage struct {
	Items      []models.Reading
	NextCursor string
}

// Readings records, lists and summarises the home readings a patient takes,
// classifying each into a band by the rules table and the patient's own
// care-plan targets. Uploads are idempotent by the reading's id.
type Readings struct {
	store     ReadingStore
	now       func() time.Time
	log       *slog.Logger
	observers []ReadingObserver
}

// NewReadings returns the readings service; every observer (nil ones are
// ignored) hears about every new reading.
func NewReadings(store ReadingStore, now func() time.Time, log *slog.Logger, observers ...ReadingObserver) *Readings {
	return &Readings{store: store, now: now, log: log, observers: withoutNil(observers)}
}

// errReadingIDTaken is the one answer to an id that is stored with other
// content, whether the other reading is the caller's or another
// patient's: it must not tell them apart.
var errReadingIDTaken = &models.Error{Code: models.CodeConflict,
	Message: "a different reading is stored under this id; send a new id for a new reading",
	Fields:  []models.FieldProblem{{Field: "id", Problem: "is already used by a different reading"}}}

// Create stores a reading for the patient. The reading's client-supplied
// fields are validated and normalised, it is given an id if it has none,
// classified under the patient's targets, and stored. Sending a stored
// reading again (same id and content) returns the stored one with created
// false and stores nothing; a deleted reading stays deleted. Errors: invalid
// (every bad field named), conflict (the id is used by a different reading,
// of this patient or any other).
func (s *Readings) Create(ctx context.Context, patient models.User, in models.Reading) (models.Reading, bool, error) {
	return s.create(ctx, patient, in, models.ReadingSourceHome)
}

// CreateTaken stores a reading a pharmacy took for the patient, as Create
// does, with its source (models.ReadingSourceClinic or
// models.ReadingSourceABPM): the bands of that setting classify it.
func (s *Readings) CreateTaken(ctx context.Context, patient models.User, in models.Reading, source string) (models.Reading, bool, error) {
	return s.create(ctx, patient, in, source)
}

func (s *Readings) create(ctx context.Context, patient models.User, in models.Reading, source string) (models.Reading, bool, error) {
	r, err := s.prepareFrom(patient, in, source)
	if err != nil {
		return models.Reading{}, false, err
	}
	err = s.store.Insert(ctx, r)
	if err == nil {
		s.stored(ctx, patient, r)
		return r, true, nil
	}
	if !models.IsCode(err, models.CodeConflict) {
		return models.Reading{}, false, err
	}
	stored, err := s.store.Lookup(ctx, r.ID)
	if err != nil && !models.IsCode(err, models.CodeNotFound) {
		return models.Reading{}, false, err
	}
	if err != nil || !sameReading(patient, stored, r) {
		return models.Reading{}, false, errReadingIDTaken
	}
	return stored, false, nil
}

// CreateBatch stores up to MaxReadingBatch readings for the patient, each
// as Create would, and returns one result per reading in order. Every
// valid reading whose id is free is stored, whatever the others are; a
// batch sent again gets unchanged for each reading stored the first time.
// Errors: invalid (more than MaxReadingBatch readings); any other error
// means the store failed part-way, and sending the batch again is safe.
func (s *Readings) CreateBatch(ctx context.Context, patient models.User, in []models.Reading) ([]ReadingResult, error) {
	if len(in) > MaxReadingBatch {
		return nil, &models.Error{Code: models.CodeInvalid, Message: "too many readings in one batch",
			Fields: []models.FieldProblem{{Field: "readings", Problem: "must hold at most " + strconv.Itoa(MaxReadingBatch) + " readings"}}}
	}
	results := make([]ReadingResult, len(in))
	valid := make([]models.Reading, 0, len(in))
	at := make([]int, 0, len(in)) // valid[j] is in[at[j]]
	for i, raw := range in {
		r, err := s.prepare(patient, raw)
		if err != nil {
			results[i] = ReadingResult{ID: raw.ID, Status: ReadingInvalid, Err: err}
			continue
		}
		valid = append(valid, r)
		at = append(at, i)
	}

	duplicates, err := s.store.InsertMany(ctx, valid)
	if err != nil {
		return nil, err
	}
	isDuplicate := make(map[int]bool, len(duplicates))
	ids := make([]string, 0, len(duplicates))
	for _, j := range duplicates {
		isDuplicate[j] = true
		ids = append(ids, valid[j].ID)
	}
	stored, err := s.store.LookupMany(ctx, ids)
	if err != nil {
		return nil, err
	}

	var created, unchanged, conflicts []int
	for j, r := range valid {
		i := at[j]
		switch prev, ok := stored[r.ID]; {
		case !isDuplicate[j]:
			results[i] = ReadingResult{ID: r.ID, Status: ReadingCreated, Reading: &r}
			created = append(created, j)
		case ok && sameReading(patient, prev, r):
			results[i] = ReadingResult{ID: r.ID, Status: ReadingUnchanged, Reading: &prev}
			unchanged = append(unchanged, j)
		default:
			results[i] = ReadingResult{ID: r.ID, Status: ReadingConflict, Err: errReadingIDTaken}
			conflicts = append(conflicts, j)
		}
	}
	s.log.InfoContext(ctx, "reading batch uploaded", "patient", patient.ID, "readings", len(in),
		"created", len(created), "unchanged", len(unchanged), "conflict", len(conflicts), "invalid", len(in)-len(valid))
	if len(created) > 0 {
		rs := make([]models.Reading, len(created))
		for k, j := range created {
			rs[k] = valid[j]
		}
		s.notify(ctx, patient, rs)
	}
	return results, nil
}

// Get returns one of the patient's readings. Errors: not_found (no such
// reading of this patient, or it was deleted).
func (s *Readings) Get(ctx context.Context, patient models.User, id string) (models.Reading, error) {
	return s.store.Get(ctx, patient.ID, strings.ToLower(id))
}

// Delete deletes one of the patient's readings: it disappears from lists,
// Get and summaries, and its id is not reused. Errors: not_found (no such
// live reading of this patient).
func (s *Readings) Delete(ctx context.Context, patient models.User, id string) error {
	id = strings.ToLower(id)
	if err := s.store.SoftDelete(ctx, patient.ID, id, s.now().UTC()); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "reading deleted", "patient", patient.ID, "reading", id)
	return nil
}

// List returns a page of the patient's live readings, newest first by
// takenAt (then id). Paging with NextCursor visits every reading that
// existed when paging began exactly once, whatever is uploaded meanwhile.
// Errors: invalid (a bad type, limit, range or cursor, named by its
// query parameter: type, limit, from, to, cursor).
func (s *Readings) List(ctx context.Context, patient models.User, q ReadingListQuery) (ReadingPage, error) {
	var p models.Problems
	if q.Type != "" && !q.Type.Valid() {
		p.Add("type", "must be one of %s", readingTypeNames())
	}
	switch {
	case q.Limit == 0:
		q.Limit = DefaultReadingPage
	case q.Limit < 1 || q.Limit > MaxReadingPage:
		p.Add("limit", "must be between 1 and %d", MaxReadingPage)
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		p.Add("to", "must be after from")
	}
	var after *models.ReadingKey
	if q.Cursor != "" {
		k, ok := decodeReadingCursor(q.Cursor)
		if !ok {
			p.Add("cursor", "is not a cursor this server issued; start again without one")
		}
		after = &k
	}
	if err := p.Err(); err != nil {
		return ReadingPage{}, err
	}
	items, err := s.store.List(ctx, models.ReadingQuery{
		PatientID: patient.ID, Type: q.Type, From: q.From, To: q.To, After: after, Limit: q.Limit + 1,
	})
	if err != nil {
		return ReadingPage{}, err
	}
	page := ReadingPage{Items: items}
	if len(items) > q.Limit {
		page.Items = items[:q.Limit]
		page.NextCursor = encodeReadingCursor(page.Items[q.Limit-1].Key())
	}
	return page, nil
}

// Summary summarises the patient's readings of one type over the last days
// local days (today included, in the patient's time zone): count, mean,
// minimum, maximum, latest, the share in each band and, for blood
// pressure, the NICE home average. days 0 means DefaultSummaryDays.
// Errors: invalid (type, days).
func (s *Readings) Summary(ctx context.Context, patient models.User, typ models.ReadingType, days int) (models.ReadingSummary, error) {
	var p models.Problems
	switch {
	case typ == "":
		p.Add("type", "is required")
	case !typ.Valid():
		p.Add("type", "must be one of %s", readingTypeNames())
	}
	switch {
	case days == 0:
		days = DefaultSummaryDays
	case days < 1 || days > MaxSummaryDays:
		p.Add("days", "must be between 1 and %d", MaxSummaryDays)
	}
	if err := p.Err(); err != nil {
		return models.ReadingSummary{}, err
	}
	loc := patient.Location()
	from, to := SummaryWindow(s.now(), loc, days)
	readings, err := s.store.Range(ctx, patient.ID, typ, from, to)
	if err != nil {
		return models.ReadingSummary{}, err
	}
	return models.SummarizeReadings(typ, days, readings, loc), nil
}

// SummaryWindow is the [from, to) of a readings summary over days days at
// now: from the start of the patient's local day days-1 days ago to now
// (and the clock skew a reading may be stamped ahead of it).
func SummaryWindow(now time.Time, loc *time.Location, days int) (from, to time.Time) {
	now = now.UTC()
	y, m, d := now.In(loc).Date()
	from = time.Date(y, m, d-(days-1), 0, 0, 0, 0, loc).UTC()
	return from, now.Add(models.ReadingClockSkew + time.Millisecond)
}

// prepare validates and normalises a reading sent by or for the patient,
// gives it an id if it has none, classifies it under the patient's
// targets and sets the server-owned fields.
func (s *Readings) prepare(patient models.User, in models.Reading) (models.Reading, error) {
	return s.prepareFrom(patient, in, models.ReadingSourceHome)
}

// prepareFrom is prepare for a reading taken in the setting source.
func (s *Readings) prepareFrom(patient models.User, in models.Reading, source string) (models.Reading, error) {
	now := s.now().UTC()
	r := models.Reading{
		ID: in.ID, Type: in.Type, TakenAt: in.TakenAt, Unit: in.Unit,
		Value: in.Value, Systolic: in.Systolic, Diastolic: in.Diastolic, Pulse: in.Pulse,
		Context: in.Context, Note: in.Note,
	}
	if err := r.Normalize(now); err != nil {
		return models.Reading{}, err
	}
	if r.ID == "" {
		r.ID = newID()
	}
	r.PatientID = patient.ID
	r.Source = source
	r.Band, r.Rule, _ = models.Classify(&r, patient.Targets)
	r.CreatedAt, r.UpdatedAt = now, now
	return r, nil
}

// stored logs a new reading and tells the observers.
func (s *Readings) stored(ctx context.Context, patient models.User, r models.Reading) {
	s.log.InfoContext(ctx, "reading stored", "patient", patient.ID, "reading", r.ID)
	s.notify(ctx, patient, []models.Reading{r})
}

func (s *Readings) notify(ctx context.Context, patient models.User, rs []models.Reading) {
	for _, o := range s.observers {
		o.ReadingsStored(ctx, patient, rs)
	}
}

// sameReading reports whether the stored reading is the patient's and has
// the same client-supplied content as r.
func sameReading(patient models.User, stored, r models.Reading) bool {
	return stored.PatientID == patient.ID && stored.SameContent(r)
}

// A cursor is the position of a page's last reading: "v1.<unix ms>.<id>",
// base64url-encoded so that clients treat it as opaque.
const readingCursorVersion = "v1"

func encodeReadingCursor(k models.ReadingKey) string {
	return encodeTimeCursor(readingCursorVersion, k.TakenAt, k.ID)
}

func decodeReadingCursor(c string) (models.ReadingKey, bool) {
	at, id, ok := decodeTimeCursor(readingCursorVersion, c)
	if !ok || len(id) > 64 {
		return models.ReadingKey{}, false
	}
	return models.ReadingKey{TakenAt: at, ID: id}, true
}

func readingTypeNames() string {
	types := models.ReadingTypes()
	names := make([]string, len(types))
	for i, t := range types {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}
