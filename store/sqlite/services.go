package sqlite

import (
	"context"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
)

// Services stores pharmacy service episodes (store.ServiceEpisodes). The
// episode is one JSON document (body), read and written whole; the columns
// beside it are what queries filter and sort on, set from it on every
// write.
type Services struct{ s *Store }

// Services returns the service-episodes store.
func (s *Store) Services() store.ServiceEpisodes { return Services{s} }

const episodeColumns = `id, patient_id, pharmacy_id, service, status, queue_at, version, created_at, updated_at, body`

func scanEpisodeRecord(r scanner) (store.EpisodeRecord, error) {
	var rec store.EpisodeRecord
	var id, patient, pharmacy, service, status, body string
	var queue, version, created, updated int64
	if err := r.Scan(&id, &patient, &pharmacy, &service, &status, &queue, &version, &created, &updated, &body); err != nil {
		return rec, err
	}
	if err := fromJSON(body, &rec.ServiceEpisode); err != nil {
		return rec, err
	}
	rec.Version, rec.QueueAt = int(version), fromMS(queue)
	return rec, nil
}

func scanEpisode(r scanner) (models.ServiceEpisode, error) {
	rec, err := scanEpisodeRecord(r)
	return rec.ServiceEpisode, err
}

func episodeArgs(rec store.EpisodeRecord) ([]any, error) {
	e := rec.ServiceEpisode
	body, err := jsonText(e)
	if err != nil {
		return nil, err
	}
	return []any{e.ID, e.PatientID, e.PharmacyID, string(e.Service), string(e.Status), ms(rec.QueueAt), e.Version,
		ms(e.CreatedAt), ms(e.UpdatedAt), body}, nil
}

// insertEpisode stores rec as it is.
func (s *Store) insertEpisode(ctx context.Context, db execer, rec store.EpisodeRecord) error {
	args, err := episodeArgs(rec)
	if err != nil {
		return err
	}
	_, err = s.execOn(ctx, db, "insert service episode "+rec.ID, `INSERT INTO service_episodes (`+episodeColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?)`, args...)
	return err
}

// Insert stores a new episode; conflict if its id is taken.
func (x Services) Insert(ctx context.Context, e models.ServiceEpisode) error {
	return x.s.insertEpisode(ctx, x.s.w, store.EpisodeRecordOf(e))
}

// Get returns an episode; not_found if there is none.
func (x Services) Get(ctx context.Context, id string) (models.ServiceEpisode, error) {
	return queryOne(ctx, x.s, x.s.r, scanEpisode, "service episode "+id,
		`SELECT `+episodeColumns+` FROM service_episodes WHERE id = ?`, id)
}

// Replace stores next if the stored episode is still at prevVersion.
func (x Services) Replace(ctx context.Context, next models.ServiceEpisode, prevVersion int) (bool, error) {
	args, err := episodeArgs(store.EpisodeRecordOf(next))
	if err != nil {
		return false, err
	}
	n, err := x.s.exec(ctx, "replace service episode "+next.ID,
		`UPDATE service_episodes SET patient_id = ?, pharmacy_id = ?, service = ?, status = ?, queue_at = ?, version = ?,
			created_at = ?, updated_at = ?, body = ? WHERE id = ? AND version = ?`,
		append(args[1:], next.ID, prevVersion)...)
	return n == 1, err
}

// OfPatient returns up to limit of a patient's episodes, newest first.
func (x Services) OfPatient(ctx context.Context, patientID string, limit int) ([]models.ServiceEpisode, error) {
	return queryAll(ctx, x.s, x.s.r, scanEpisode, "service episodes of "+patientID,
		`SELECT `+episodeColumns+` FROM service_episodes WHERE patient_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`, patientID, limit)
}

// Queue returns a page of a pharmacy's active episodes by (queue_at, id).
func (x Services) Queue(ctx context.Context, q models.ServiceEpisodeQuery) ([]models.ServiceEpisode, error) {
	if q.AfterID == "" || q.AfterDue == nil {
		return queryAll(ctx, x.s, x.s.r, scanEpisode, "service queue of "+q.PharmacyID,
			`SELECT `+episodeColumns+` FROM service_episodes WHERE pharmacy_id = ? AND status = 'active'
				ORDER BY queue_at, id LIMIT ?`, q.PharmacyID, q.Limit)
	}
	after := ms(*q.AfterDue)
	return queryAll(ctx, x.s, x.s.r, scanEpisode, "service queue of "+q.PharmacyID,
		`SELECT `+episodeColumns+` FROM service_episodes WHERE pharmacy_id = ? AND status = 'active'
			AND (queue_at > ? OR (queue_at = ? AND id > ?)) ORDER BY queue_at, id LIMIT ?`,
		q.PharmacyID, after, after, q.AfterID, q.Limit)
}
