package services

import (
	"context"
	"time"

	"github.com/concord-health/concord/models"
)

// ReopenDue puts every resolved flag whose follow-up date has come back in
// its pharmacy's queue (open, unclaimed) and returns how many it reopened.
func (s *Flags) ReopenDue(ctx context.Context, now time.Time) (int, error) {
	return s.reopenDue(ctx, "", now)
}

// reopenDue is ReopenDue for one pharmacy's flags ("": every pharmacy's).
func (s *Flags) reopenDue(ctx context.Context, pharmacyID string, now time.Time) (int, error) {
	now = now.UTC()
	due, err := s.store.DueFollowUps(ctx, pharmacyID, now)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range due {
		ok, err := s.store.ReopenFollowUp(ctx, f, now)
		if err != nil {
			return n, err
		}
		if ok {
			n++
			s.log.InfoContext(ctx, "flag follow-up due", "flag", f.ID, "pharmacy", f.PharmacyID)
		}
	}
	return n, nil
}

// reopened re-opens a flag whose follow-up is due and returns it as stored.
func (s *Flags) reopened(ctx context.Context, f models.Flag) (models.Flag, error) {
	if _, err := s.store.ReopenFollowUp(ctx, f, s.now().UTC()); err != nil {
		return models.Flag{}, err
	}
	return s.store.Get(ctx, f.ID)
}
