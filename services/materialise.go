package services

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/concord-health/concord/models"
)

// Bounds of the materialise step's work per tick.
const (
	// DefaultMaxPlansPerTick bounds how many medications one tick plans, so
	// that planning never holds up the reminders of the same tick. Each
	// medication is planned DoseHorizon ahead and extended about once a
	// day, so 100 a tick (400 a minute at the default interval) keeps up
	// with far more medications than one database holds; edits are planned
	// by the request that makes them.
	DefaultMaxPlansPerTick = 100
	// DefaultMaxPlanReadsPerTick bounds how many dose-plan records one tick
	// reads (by id) to learn the state of medications it has not seen yet:
	// after a start, the plans of 10,000 medications are learnt in 10
	// ticks, while reminders go on from the first.
	DefaultMaxPlanReadsPerTick = 1000
)

// planState is a medication's plan record as last read.
type planState struct {
	fingerprint string
	through     time.Time
}

// materialise hands the DosePlanner the medications whose plan is due
// (planDue), most urgent (the shortest reach) first, at most
// MaxPlansPerTick of them. A medication's plan record is read once and remembered, and read
// again after each planning, so a tick where nothing changed reads and
// plans nothing.
func (r *Reminders) materialise(ctx context.Context, t *reminderTick) error {
	fail := failures{step: "materialise"}
	type candidate struct {
		p       *reminderPatient
		m       models.Medication
		through time.Time
	}
	var due []candidate
	active := map[string]bool{}
	reads := 0
	for _, p := range t.patients {
		for _, m := range p.meds {
			active[m.ID] = true
			st, known := r.plans[m.ID]
			if !known {
				if reads >= r.cfg.MaxPlanReadsPerTick {
					continue
				}
				reads++
				fp, through, err := r.src.Doses.DosePlan(ctx, m.ID)
				if err != nil {
					fail.add(err)
					continue
				}
				st = planState{fingerprint: fp, through: through}
				r.plans[m.ID] = st
			}
			if planDue(m, p.loc, st.fingerprint, st.through, t.now) {
				due = append(due, candidate{p, m, st.through})
			}
		}
	}
	for id := range r.plans {
		if !active[id] {
			delete(r.plans, id)
		}
	}
	slices.SortFunc(due, func(a, b candidate) int { return cmp.Or(a.through.Compare(b.through), strings.Compare(a.m.ID, b.m.ID)) })
	planned := 0
	for _, c := range due[:min(len(due), r.cfg.MaxPlansPerTick)] {
		if ctx.Err() != nil {
			break
		}
		// Forget the plan first: read again next tick if anything fails.
		delete(r.plans, c.m.ID)
		if err := r.planner.MaterializeMedication(ctx, c.p.user, c.m.ID, t.now); err != nil {
			fail.add(err)
			continue
		}
		fp, through, err := r.src.Doses.DosePlan(ctx, c.m.ID)
		if err != nil {
			fail.add(err)
			continue
		}
		r.plans[c.m.ID] = planState{fingerprint: fp, through: through}
		planned++
	}
	if planned > 0 || reads > 0 || len(due) > planned {
		r.log.DebugContext(ctx, "doses materialised", "medications", len(active), "plans_read", reads,
			"planned", planned, "still_due", len(due)-planned)
	}
	return fail.err()
}
