package store

import (
	"context"
	"fmt"

	"github.com/concord-health/concord/models"
)

// Kind names one kind of stored record, for copying a whole database from
// one backend to another.
type Kind string

// The kinds of record. Each is copied as one Go type (KindType).
const (
	KindUsers         Kind = "users"
	KindSessions      Kind = "sessions"
	KindRefreshTokens Kind = "refresh_tokens"
	KindPharmacies    Kind = "pharmacies"
	KindConsents      Kind = "consents"
	KindNominations   Kind = "nominations"
	KindInvitations   Kind = "care_invitations"
	KindLinks         Kind = "care_links"
	KindAudit         Kind = "audit_log"
	KindReadings      Kind = "readings"
	KindMedications   Kind = "medications"
	KindDoses         Kind = "doses"
	KindDosePlans     Kind = "dose_plans"
	KindNotifications Kind = "notifications"
	KindOutbox        Kind = "outbox"
	KindDevices       Kind = "devices"
	KindFlags         Kind = "flags"
	KindFlagSlots     Kind = "flag_slots"
	KindEpisodes      Kind = "service_episodes"
	KindReportLinks   Kind = "report_links"
)

// Kinds lists every kind, each after the kinds its records refer to.
var Kinds = []Kind{
	KindUsers, KindSessions, KindRefreshTokens, KindPharmacies, KindConsents, KindNominations,
	KindInvitations, KindLinks, KindAudit, KindReadings, KindMedications, KindDoses, KindDosePlans,
	KindNotifications, KindOutbox, KindDevices, KindFlags, KindFlagSlots, KindEpisodes,
	KindReportLinks,
}

// KindType returns a zero record of kind: the type its records are copied
// as. Errors: invalid for an unknown kind.
func KindType(kind Kind) (any, error) {
	switch kind {
	case KindUsers:
		return models.User{}, nil
	case KindSessions:
		return models.Session{}, nil
	case KindRefreshTokens:
		return models.RefreshToken{}, nil
	case KindPharmacies:
		return models.Pharmacy{}, nil
	case KindConsents:
		return models.Consent{}, nil
	case KindNominations:
		return models.Nomination{}, nil
	case KindInvitations:
		return models.CareInvitation{}, nil
	case KindLinks:
		return models.CareLink{}, nil
	case KindAudit:
		return models.AuditEntry{}, nil
	case KindReadings:
		return models.Reading{}, nil
	case KindMedications:
		return models.Medication{}, nil
	case KindDoses:
		return models.Dose{}, nil
	case KindDosePlans:
		return DosePlan{}, nil
	case KindNotifications:
		return models.Notification{}, nil
	case KindOutbox:
		return OutboxEntry{}, nil
	case KindDevices:
		return models.Device{}, nil
	case KindFlags:
		return FlagRecord{}, nil
	case KindFlagSlots:
		return FlagSlot{}, nil
	case KindEpisodes:
		return EpisodeRecord{}, nil
	case KindReportLinks:
		return models.ReportLink{}, nil
	}
	return nil, models.Errorf(models.CodeInvalid, "unknown kind of record %q", kind)
}

// Copier reads and writes whole kinds of records, exactly as stored (ids,
// times, states, leases), so that a database can move between backends.
type Copier interface {
	// Export calls fn with every record of kind, in batches of at most
	// batch records, in id order. Each element has the type KindType
	// gives. A record written during the export may or may not be in it.
	Export(ctx context.Context, kind Kind, batch int, fn func(records []any) error) error
	// Import stores the records (each of the kind's type) as they are, in
	// one transaction where the backend has them. Errors: conflict if an
	// id is taken; invalid if a record is not of the kind's type.
	Import(ctx context.Context, kind Kind, records []any) error
	// Count returns how many records of kind are stored.
	Count(ctx context.Context, kind Kind) (int64, error)
}

// As returns the records as values of T, or an invalid error naming the
// first that is not one: what Import implementations check their input
// with.
func As[T any](kind Kind, records []any) ([]T, error) {
	out := make([]T, len(records))
	for i, r := range records {
		v, ok := r.(T)
		if !ok {
			return nil, models.Errorf(models.CodeInvalid, "record %d of %s is a %T", i, kind, r)
		}
		out[i] = v
	}
	return out, nil
}

// Copy copies every record of every kind from src into dst in batches of
// batch, reporting each kind's count to progress (may be nil). dst must
// hold none of src's ids. It returns the number of records copied.
func Copy(ctx context.Context, dst, src Copier, batch int, progress func(kind Kind, n int64)) (int64, error) {
	var total int64
	for _, kind := range Kinds {
		var n int64
		err := src.Export(ctx, kind, batch, func(records []any) error {
			if err := dst.Import(ctx, kind, records); err != nil {
				return err
			}
			n += int64(len(records))
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("copy %s: %w", kind, err)
		}
		total += n
		if progress != nil {
			progress(kind, n)
		}
	}
	return total, nil
}
