package sqlite

import (
	"context"
	"strings"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
)

// Pharmacies stores community pharmacies (store.Pharmacies).
type Pharmacies struct{ s *Store }

// Pharmacies returns the pharmacies.
func (s *Store) Pharmacies() store.Pharmacies { return Pharmacies{s} }

const pharmacyColumns = `id, ods_code, name, postcode, postcode_key, created_at`

func scanPharmacy(r scanner) (models.Pharmacy, error) {
	var p models.Pharmacy
	var created int64
	err := r.Scan(&p.ID, &p.ODSCode, &p.Name, &p.Postcode, &p.PostcodeKey, &created)
	p.CreatedAt = fromMS(created)
	return p, err
}

func (s *Store) insertPharmacy(ctx context.Context, db execer, p models.Pharmacy) error {
	_, err := s.execOn(ctx, db, "create pharmacy", `INSERT INTO pharmacies (`+pharmacyColumns+`) VALUES (?,?,?,?,?,?)`,
		p.ID, p.ODSCode, p.Name, p.Postcode, p.PostcodeKey, ms(p.CreatedAt))
	return err
}

// Create stores a pharmacy; conflict if its id or ODS code is taken.
func (x Pharmacies) Create(ctx context.Context, p models.Pharmacy) error {
	return x.s.insertPharmacy(ctx, x.s.w, p)
}

// Get returns a pharmacy by id; not_found if there is none.
func (x Pharmacies) Get(ctx context.Context, id string) (models.Pharmacy, error) {
	return byKey[models.Pharmacy](ctx, x.s, store.KindPharmacies, id)
}

// Exists reports whether a pharmacy with the id exists.
func (x Pharmacies) Exists(ctx context.Context, id string) (bool, error) {
	_, err := x.Get(ctx, id)
	if models.IsCode(err, models.CodeNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Search returns up to limit pharmacies, by name, whose name contains
// text (any case) or whose postcode key or ODS code starts with it.
func (x Pharmacies) Search(ctx context.Context, text string, limit int) ([]models.Pharmacy, error) {
	if text == "" {
		return queryAll(ctx, x.s, x.s.r, scanPharmacy, "search pharmacies",
			`SELECT `+pharmacyColumns+` FROM pharmacies ORDER BY name, id LIMIT ?`, limit)
	}
	key := likeEscape(models.PostcodeKey(text))
	return queryAll(ctx, x.s, x.s.r, scanPharmacy, "search pharmacies",
		`SELECT `+pharmacyColumns+` FROM pharmacies
		 WHERE lower(name) LIKE ? ESCAPE '\' OR postcode_key LIKE ? ESCAPE '\' OR ods_code LIKE ? ESCAPE '\'
		 ORDER BY name, id LIMIT ?`,
		"%"+likeEscape(strings.ToLower(text))+"%", key+"%", key+"%", limit)
}

// likeEscape makes s match itself in a LIKE pattern with ESCAPE '\'.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
