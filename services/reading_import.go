package services

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"

	"github.com/google/uuid"

	"github.com/concord-health/concord/models"
)

// MaxReadingImport is the most readings one import may carry.
const MaxReadingImport = 1000

// ImportItem is one reading to import: its client fields (as Create takes
// them; the id is ignored), where it came from, and the identity that makes
// importing it again store nothing.
type ImportItem struct {
	Reading models.Reading
	// Source is models.ReadingSourceDevice (Device names it, when known) or
	// models.ReadingSourceImport.
	Source string
	Device string
	// Key identifies the reading at its origin: its identifier there, or
	// a digest of what it measured when it has none. Required.
	Key string
	// OwnID, when set, is the id of a Concord reading the item claims to
	// be (Concord's own export names each reading by its id): if the
	// patient has a reading under it, the item is that reading.
	OwnID string
	// Err, when set, is why the item could not even be read (an invalid
	// *models.Error): it is rejected with it, and so stops the import,
	// whose other items are still checked so that every problem is
	// reported at once.
	Err error
}

// ImportStatus is what became of one reading of an import.
type ImportStatus string

// The outcomes of importing a reading.
const (
	// ImportCreated: stored now.
	ImportCreated ImportStatus = "created"
	// ImportDuplicate: the patient already has it (an earlier import, an
	// earlier entry of this one, or the Concord reading it was exported
	// from); nothing stored.
	ImportDuplicate ImportStatus = "duplicate"
	// ImportRejected: invalid, or its identity names a different reading;
	// Err says why.
	ImportRejected ImportStatus = "rejected"
)

// ImportResult is the outcome of one item of an import.
type ImportResult struct {
	Status ImportStatus
	// Reading is the stored reading (the existing one for a duplicate).
	Reading *models.Reading
	// Err is set when rejected: invalid naming the reading's fields (JSON
	// names, as Create's), or conflict naming "identifier".
	Err error
}

// errImportIdentityTaken is the rejection of an item whose identity is
// already the patient's reading with other content.
var errImportIdentityTaken = &models.Error{Code: models.CodeConflict,
	Message: "a different reading was imported under this identifier",
	Fields:  []models.FieldProblem{{Field: "identifier", Problem: "already names a different reading of yours"}}}

// importNamespace is the namespace of imported readings' ids (UUID version
// 5 of their import key). Fixed: changing it changes every id.
var importNamespace = uuid.MustParse("6a1f3c2e-5b7d-4e90-8c1a-2f4d6b8e0a13")

// ImportKey returns the import key (models.Reading.ImportKey) of a
// reading the patient imports under key: a SHA-256 digest of both, so that
// one device's observation imported by two patients does not collide,
// and the same one imported again by the same patient does.
func ImportKey(patientID, key string) string {
	sum := sha256.Sum256([]byte("concord:import:" + patientID + "\x00" + key))
	return "v1:" + hex.EncodeToString(sum[:])
}

// Import stores readings the patient brings from a device platform or
// another app, all or nothing: each is validated, normalised and banded
// exactly as Create does a reading logged by hand (with its source), under
// an id derived from its import key, so importing the same items again
// stores nothing and reports them as duplicates. When any item is
// rejected, nothing is stored and the results say which and why (the
// others are left without a status); the error is then invalid when any
// item is invalid, else conflict. Errors: too_large (more than
// MaxReadingImport items); any other error means the store failed, and
// importing again is safe.
func (s *Readings) Import(ctx context.Context, patient models.User, items []ImportItem) ([]ImportResult, error) {
	if len(items) > MaxReadingImport {
		return nil, models.Errorf(models.CodeTooLarge, "an import holds at most %s readings; send them in several imports", strconv.Itoa(MaxReadingImport))
	}
	results := make([]ImportResult, len(items))
	prepared := make([]models.Reading, len(items))
	var invalid, conflict bool
	for i, it := range items {
		if it.Err != nil {
			results[i] = ImportResult{Status: ImportRejected, Err: it.Err}
			invalid = true
			continue
		}
		if it.Key == "" {
			return nil, models.Errorf(models.CodeInternal, "import item %d has no key", i)
		}
		in := it.Reading
		in.ID = ""
		r, err := s.prepareFrom(patient, in, it.Source)
		if err != nil {
			results[i] = ImportResult{Status: ImportRejected, Err: err}
			invalid = true
			continue
		}
		r.Device = it.Device
		r.ImportKey = ImportKey(patient.ID, it.Key)
		r.ID = uuid.NewSHA1(importNamespace, []byte(r.ImportKey)).String()
		prepared[i] = r
	}
	if invalid {
		return results, importRejection(results)
	}

	// What the patient already has: readings under the derived ids, and
	// the Concord readings items claim to be.
	ids := make([]string, 0, 2*len(items))
	for i, it := range items {
		ids = append(ids, prepared[i].ID)
		if it.OwnID != "" {
			ids = append(ids, it.OwnID)
		}
	}
	existing, err := s.store.LookupMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]int, len(items)) // id → the first item under it
	var fresh []int
	for i, r := range prepared {
		prev, had := existing[r.ID]
		if own, ok := existing[items[i].OwnID]; items[i].OwnID != "" && ok && own.PatientID == patient.ID {
			prev, had = own, true
		}
		if first, ok := seen[r.ID]; ok && !had {
			prev, had = prepared[first], true
		}
		switch {
		case !had:
			seen[r.ID] = i
			fresh = append(fresh, i)
		case prev.PatientID == patient.ID && sameMeasurement(prev, r):
			results[i] = ImportResult{Status: ImportDuplicate, Reading: &prev}
		default:
			results[i] = ImportResult{Status: ImportRejected, Err: errImportIdentityTaken}
			conflict = true
		}
	}
	if conflict {
		for _, i := range fresh {
			results[i] = ImportResult{}
		}
		for i := range results {
			if results[i].Status == ImportDuplicate {
				results[i] = ImportResult{}
			}
		}
		return results, importRejection(results)
	}

	batch := make([]models.Reading, len(fresh))
	for k, i := range fresh {
		batch[k] = prepared[i]
	}
	duplicates, err := s.store.InsertMany(ctx, batch)
	if err != nil {
		return nil, err
	}
	// A duplicate now is a concurrent import of the same item: it stands
	// if it is the same reading.
	raced := make(map[int]bool, len(duplicates))
	racedIDs := make([]string, 0, len(duplicates))
	for _, k := range duplicates {
		raced[k] = true
		racedIDs = append(racedIDs, batch[k].ID)
	}
	stored, err := s.store.LookupMany(ctx, racedIDs)
	if err != nil {
		return nil, err
	}
	var created []models.Reading
	for k, i := range fresh {
		r := batch[k]
		switch prev, ok := stored[r.ID]; {
		case !raced[k]:
			results[i] = ImportResult{Status: ImportCreated, Reading: &r}
			created = append(created, r)
		case ok && prev.PatientID == patient.ID && sameMeasurement(prev, r):
			results[i] = ImportResult{Status: ImportDuplicate, Reading: &prev}
		default:
			results[i] = ImportResult{Status: ImportRejected, Err: errImportIdentityTaken}
		}
	}
	s.log.InfoContext(ctx, "readings imported", "patient", patient.ID, "items", len(items), "created", len(created))
	if len(created) > 0 {
		s.notify(ctx, patient, created)
	}
	return results, nil
}

// importRejection is the error of an import with rejected items: invalid
// if any is invalid, else conflict.
func importRejection(results []ImportResult) error {
	code := models.CodeConflict
	for _, r := range results {
		if r.Status == ImportRejected && models.IsCode(r.Err, models.CodeInvalid) {
			code = models.CodeInvalid
		}
	}
	return models.Errorf(code, "nothing was imported: the readings marked rejected must be corrected or removed first")
}

// sameMeasurement reports whether two normalised readings record the same
// measurement: type, instant, canonical values and context. Unlike
// SameContent it ignores the unit entered and the note, so a reading comes
// back from Concord's own export (in canonical units) as itself.
func sameMeasurement(a, b models.Reading) bool {
	return a.Type == b.Type &&
		models.Instant(a.TakenAt).Equal(models.Instant(b.TakenAt)) &&
		readingSameValue(a.Canonical.Value, b.Canonical.Value) &&
		readingSameValue(a.Canonical.Systolic, b.Canonical.Systolic) &&
		readingSameValue(a.Canonical.Diastolic, b.Canonical.Diastolic) &&
		readingSameValue(a.Canonical.Pulse, b.Canonical.Pulse) &&
		a.Context == b.Context
}

func readingSameValue(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
