package services

import (
	"context"
	"log/slog"
	"time"
)

// Retention deletes, on a schedule, what Concord no longer keeps. This
// table is the one statement of how long each kind of record is kept (the
// README repeats it):
//
//	| Record | Kept | Why |
//	|---|---|---|
//	| Readings (a deleted one too, hidden from every list), medicines, doses | while the patient's account exists | the patient's health record: trends, adherence and the pharmacist's evidence are read from it |
//	| Review flags, with their notes and history | while the patient's account exists | the pharmacy's record of the care it gave: interventions, referrals, follow-ups |
//	| Consent records, carer links and invitations | while the patient's account exists | who was allowed to see the patient's data, and from when to when |
//	| Access (audit) log | while the patient's account exists; never purged | part of the patient's health record: who saw or changed it, and when. UK records-management practice (the NHS Records Management Code of Practice) keeps GP-held records for the life of the patient plus 10 years, and a log kept for less than the record it audits could not answer "who saw this?". Deleting an account is outside this table |
//	| Sessions (logins) and refresh tokens | 30 days (SessionRetention) after the login ended | a login ends when it is revoked (logout, password change, a replayed token) or when its last refresh token expires; after that it can never be used again, and 30 days keeps recent logins for looking into a compromised account. A spent token of a login still standing is kept until it expires, whatever its age: finding it spent is how a replayed token is detected |
//	| Notifications (the inbox) sent, failed or cancelled | 180 days (NotificationRetention) after they were due | long enough to look back over months of reminders and alerts; what they announced (doses, readings, flags) is in the health record. No event that old is ever notified again, so a purged notification's dedupe key is never reused |
//	| Notifications still pending | until sent, failed or cancelled; then as above | they are still to be delivered |
//	| Outbox entries (delivery work) | until the delivery finishes | removed when the notification is sent, failed or cancelled; one left by a crash is dropped when next claimed, or purged with its notification |
//	| Report share links | 30 days (ReportLinkRetention) after they expired (revoked ones too: every link expires within 14 days) | the patient's list shows recently ended links; each use stays in the access log |
//	| Push devices | until unregistered, reported dead by FCM, or pushed out by a newer one (MaxDevicesPerUser) | a registration token is a credential for the device |
//
// Retention runs from the scheduler (Step) every RetentionInterval, not on
// every tick: what it deletes ages in days. Each purge works in batches of
// RetentionBatch, each batch one short write, so it never holds the
// database's writer for long, and stops after RetentionMaxBatches batches
// of each kind in one run (the next run carries on). Any number of
// instances may run it at once: deleting is idempotent.
type Retention struct {
	sessions      SessionPurger
	notifications NotificationPurger
	reportLinks   ReportLinkPurger
	now           func() time.Time
	log           *slog.Logger
	// next is when Step next purges (steps never overlap).
	next time.Time
}

// Retention periods and how purges are paced.
const (
	// SessionRetention is how long a login is kept after it ended (see
	// Retention).
	SessionRetention = 30 * 24 * time.Hour
	// NotificationRetention is how long a sent, failed or cancelled
	// notification is kept after it was due (see Retention).
	NotificationRetention = 180 * 24 * time.Hour
	// ReportLinkRetention is how long a report share link is kept after
	// it expired (see Retention).
	ReportLinkRetention = 30 * 24 * time.Hour
	// RetentionInterval is how often Step purges.
	RetentionInterval = time.Hour
	// RetentionBatch is how many records of a kind one purge call deletes
	// at most.
	RetentionBatch = 500
	// RetentionMaxBatches bounds the batches of each kind in one run.
	RetentionMaxBatches = 20
)

// SessionPurger deletes ended logins (the session store).
type SessionPurger interface {
	PurgeEnded(ctx context.Context, before time.Time, limit int) (int, error)
}

// NotificationPurger deletes finished notifications (the notification
// store).
type NotificationPurger interface {
	PurgeFinished(ctx context.Context, before time.Time, limit int) (int, error)
}

// ReportLinkPurger deletes expired report share links (the report-link
// store).
type ReportLinkPurger interface {
	PurgeExpired(ctx context.Context, before time.Time, limit int) (int, error)
}

// NewRetention returns the retention purge.
func NewRetention(sessions SessionPurger, notifications NotificationPurger, reportLinks ReportLinkPurger, now func() time.Time, log *slog.Logger) *Retention {
	return &Retention{sessions: sessions, notifications: notifications, reportLinks: reportLinks, now: now, log: log}
}

// RetentionStats counts what one Run deleted.
type RetentionStats struct {
	// Sessions counts sessions and refresh tokens together.
	Sessions      int
	Notifications int
	ReportLinks   int
}

// Step is the retention purge as a scheduler step: the first tick of a
// process purges, and then the first tick every RetentionInterval after.
func (r *Retention) Step() Step {
	return Step{Name: "retention", Run: func(ctx context.Context, now time.Time) error {
		if now.Before(r.next) {
			return nil
		}
		r.next = now.Add(RetentionInterval)
		_, err := r.Run(ctx, now)
		return err
	}}
}

// Run deletes what the retention periods let go as of now: logins that
// ended more than SessionRetention ago, notifications finished and due
// more than NotificationRetention ago and report share links expired more
// than ReportLinkRetention ago. When ctx ends it stops after the
// batch in hand; what is left waits for the next run.
func (r *Retention) Run(ctx context.Context, now time.Time) (RetentionStats, error) {
	start := time.Now()
	var st RetentionStats
	var err error
	st.Sessions, err = purge(ctx, func(ctx context.Context) (int, bool, error) {
		n, err := r.sessions.PurgeEnded(ctx, now.Add(-SessionRetention), RetentionBatch)
		return n, n > 0, err
	})
	if err != nil {
		return st, err
	}
	st.Notifications, err = purge(ctx, func(ctx context.Context) (int, bool, error) {
		n, err := r.notifications.PurgeFinished(ctx, now.Add(-NotificationRetention), RetentionBatch)
		return n, n == RetentionBatch, err
	})
	if err == nil {
		st.ReportLinks, err = purge(ctx, func(ctx context.Context) (int, bool, error) {
			n, err := r.reportLinks.PurgeExpired(ctx, now.Add(-ReportLinkRetention), RetentionBatch)
			return n, n == RetentionBatch, err
		})
	}
	if st.Sessions > 0 || st.Notifications > 0 || st.ReportLinks > 0 {
		r.log.InfoContext(ctx, "retention purge", "sessions_and_tokens", st.Sessions, "notifications", st.Notifications,
			"report_links", st.ReportLinks, "duration_ms", time.Since(start).Milliseconds())
	}
	return st, err
}

// purge calls batch, at most RetentionMaxBatches times, while it reports
// more may be left and ctx has not ended, and returns the total deleted.
// Each batch runs to its end even if ctx ends meanwhile.
func purge(ctx context.Context, batch func(context.Context) (n int, more bool, err error)) (int, error) {
	total := 0
	for range RetentionMaxBatches {
		if ctx.Err() != nil {
			break
		}
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		n, more, err := batch(bctx)
		cancel()
		total += n
		if err != nil || !more {
			return total, err
		}
	}
	return total, nil
}
