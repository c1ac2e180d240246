package services

import (
	"context"
	"log/slog"
	"time"

	"github.com/concord-health/concord/models"
)

// PersonEraser deletes what the database holds of a person (the store's
// Erasure: see store.Erasure for what goes and what stays).
type PersonEraser interface {
	ErasePerson(ctx context.Context, userID string, at time.Time) (map[string]int, error)
}

// ConsentWithdrawer ends a patient's pharmacy consent (Consents.Withdraw).
type ConsentWithdrawer interface {
	Withdraw(ctx context.Context, patientID string) error
}

// OwnRecorder writes an entry in a patient's access log for what they did
// themselves (Access.RecordOwn).
type OwnRecorder interface {
	RecordOwn(ctx context.Context, p models.Principal, action Action, resource string) error
}

// AccountDeletion deletes accounts at their owner's request: the right to
// erasure (UK GDPR article 17) and the app stores' in-app deletion rule.
type AccountDeletion struct {
	auth     *Auth
	consents ConsentWithdrawer
	audit    OwnRecorder
	eraser   PersonEraser
	now      func() time.Time
	log      *slog.Logger
}

// NewAccountDeletion returns the account-deletion service.
func NewAccountDeletion(auth *Auth, consents ConsentWithdrawer, audit OwnRecorder, eraser PersonEraser, now func() time.Time, log *slog.Logger) *AccountDeletion {
	return &AccountDeletion{auth: auth, consents: consents, audit: audit, eraser: eraser, now: now, log: log}
}

// Delete deletes the caller's account once they confirm it with their
// password. For a patient, consent to their pharmacy ends first (the
// pharmacy loses access and its live flags close, as when consent is
// withdrawn) and the access log records the deletion; then the records
// go (PersonEraser). When it returns nil the account, its sessions (so
// every token) and its e-mail address are gone: the address can register
// again. A failure part-way leaves the account able to sign in and delete
// again, which finishes the job.
//
// Errors: forbidden for pharmacists and admins (an admin removes their
// accounts: their work belongs to the pharmacy); invalid without a
// password; unauthorized for a wrong password (counted against the
// session as a password change's are) or an ended session; unavailable.
func (d *AccountDeletion) Delete(ctx context.Context, p models.Principal, password string) error {
	if p.Role != models.RolePatient && p.Role != models.RoleCarer {
		return models.Errorf(models.CodeForbidden, "a %s account is removed by an admin", p.Role)
	}
	if password == "" {
		var pr models.Problems
		pr.Add("password", "is required: confirm the deletion with your password")
		return pr.Err()
	}
	if _, err := d.auth.ConfirmPassword(ctx, p, password, "password"); err != nil {
		return err
	}
	if p.Role == models.RolePatient {
		if err := d.consents.Withdraw(ctx, p.UserID); err != nil {
			return err
		}
		if err := d.audit.RecordOwn(ctx, p, DeleteAccount, "account"); err != nil {
			return err
		}
	}
	counts, err := d.eraser.ErasePerson(ctx, p.UserID, d.now().UTC())
	if err != nil {
		return err
	}
	args := []any{"user", p.UserID, "role", p.Role}
	for kind, n := range counts {
		if n > 0 {
			args = append(args, kind, n)
		}
	}
	d.log.InfoContext(ctx, "account deleted", args...)
	return nil
}
