package sqlite

import (
	"time"

	"github.com/concord-health/concord/models"
)

// changedSince is the condition of a Changed query on a table with
// patient_id, updated_at and id and an index on the three (the
// *_changes indexes of migration 4), then its order and limit: the
// arguments are changeArgs.
const changedSince = `patient_id = ? AND (updated_at, id) > (?, ?) AND updated_at <= ? ORDER BY updated_at, id LIMIT ?`

// changeArgs are the arguments of changedSince.
func changeArgs(scope string, after models.ChangeKey, upTo time.Time, limit int) []any {
	return []any{scope, ms(after.At), after.ID, ms(upTo), limit}
}
