package services

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/concord-health/concord/models"
)

// The change feed: GET /v1/patients/{id}/changes?since=<token> gives a
// device everything created, changed or deleted since its last sync, in
// (updatedAt, kind, id) order, and a token for the next call.
//
// Every synced record carries a server updatedAt that each change moves
// forward, and each store keeps an index on (patient, updatedAt, id), so a
// page costs one indexed range read per kind however long the device was
// away. Deletions come as entries with deleted set: a deleted reading (it
// stays stored, marked), a pending dose removed by a schedule change (a
// tombstone), a cancelled notification and a revoked carer link.
//
// Late writes: a record's updatedAt is taken before its write commits, so
// a write may become visible after a later one. A token therefore never
// moves past now−SyncSettle once the feed is caught up: the next call
// sends the last SyncSettle again (a device applies an entry only when its
// updatedAt is newer than what it holds, so repeats are harmless), and a
// write that commits less than SyncSettle after its updatedAt is never
// missed. At one instant tombstones come first, so a dose deleted and
// planned again in the same millisecond ends up present.

// SyncSettle is how long after its updatedAt a change may still become
// visible and be caught by the next sync.
const SyncSettle = 30 * time.Second

// Page sizes of the change feed.
const (
	DefaultChangesPage = 200
	MaxChangesPage     = 500
)

// feedOrigin is where a feed starts: before every record.
var feedOrigin = time.UnixMilli(0).UTC()

// afterEveryID is greater than every id (ids are printable ASCII).
const afterEveryID = "\x7f"

// The sources of the feed, in the order entries of one instant are sent.
const (
	sourceDoseTombstones = iota
	sourceCareLinks
	sourceDoses
	sourceMedications
	sourceNotifications
	sourceReadings
	sourceCount
)

// Change is one entry of the feed: a record as it now is, or its deletion
// (Deleted, with the record when it is kept, as for a deleted reading).
type Change struct {
	Kind         models.FeedKind
	ID           string
	UpdatedAt    time.Time
	Deleted      bool
	Reading      *models.Reading
	Medication   *models.Medication
	Dose         *models.Dose
	Notification *models.Notification
	CareLink     *models.CareLink
	source       int
}

// ChangePage is one page of the feed. Reset means the device must drop
// what it holds of this patient and rebuild it from this feed (a first
// sync, or what the caller may see has changed since its token). Next is
// the token of the next call; with HasMore the device calls again at once.
type ChangePage struct {
	Changes []Change
	Next    string
	HasMore bool
	Reset   bool
}

// ChangeSources are the stores the feed reads.
type ChangeSources struct {
	Readings interface {
		Changed(ctx context.Context, patientID string, after models.ChangeKey, upTo time.Time, limit int) ([]models.Reading, error)
	}
	Medications interface {
		Changed(ctx context.Context, patientID string, after models.ChangeKey, upTo time.Time, limit int) ([]models.Medication, error)
	}
	Doses interface {
		Changed(ctx context.Context, patientID string, after models.ChangeKey, upTo time.Time, limit int) ([]models.Dose, error)
		Deleted(ctx context.Context, patientID string, after models.ChangeKey, upTo time.Time, limit int) ([]models.Tombstone, error)
	}
	Notifications interface {
		Changed(ctx context.Context, recipientID, patientID string, after models.ChangeKey, upTo time.Time, limit int) ([]models.Notification, error)
	}
	Links interface {
		LinksChanged(ctx context.Context, patientID string, after models.ChangeKey, upTo time.Time, limit int) ([]models.CareLink, error)
		Link(ctx context.Context, id string) (models.CareLink, error)
	}
}

// Changes serves the change feed.
type Changes struct {
	src    ChangeSources
	access *Access
	now    func() time.Time
}

// NewChanges returns the change feed over src; access decides which kinds
// each caller sees.
func NewChanges(src ChangeSources, access *Access, now func() time.Time) *Changes {
	return &Changes{src: src, access: access, now: now}
}

// feedToken is what a token holds: the position of the last entry sent
// (At, Source, ID), the lowest settle horizon of the pages of one catch-up
// (Floor, ms; 0 when none) and the sources the caller could see (Mask).
type feedToken struct {
	V      int    `json:"v"`
	At     int64  `json:"t"`
	Source int    `json:"s"`
	ID     string `json:"i,omitempty"`
	Floor  int64  `json:"f,omitempty"`
	Mask   int    `json:"m"`
}

func (t feedToken) encode() string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeFeedToken(s string) (feedToken, error) {
	var t feedToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil || t.V != 1 || t.Source < 0 || t.Source >= sourceCount || len(t.ID) > 200 || t.At < 0 || t.Floor < 0 {
		var p models.Problems
		p.Add("since", "must be a token from an earlier response's next, or empty for a first sync")
		return feedToken{}, p.Err()
	}
	return t, nil
}

// Page returns the changes to the patient's data that the caller p may see
// after the token since ("" for a first sync), at most limit (0: the
// default). The caller must already be authorized for ReadChanges on the
// patient. What p sees, as the per-resource reads decide: readings with
// ReadReadings, medicines and doses with ReadMedications, the caller's own
// notifications about the patient, and the patient's carer links (every
// one for the patient, only their own for a carer). Errors: invalid
// ("since", "limit").
func (c *Changes) Page(ctx context.Context, p models.Principal, patient models.User, since string, limit int) (ChangePage, error) {
	if limit < 0 || limit > MaxChangesPage {
		var pr models.Problems
		pr.Add("limit", "must be from 1 to %d", MaxChangesPage)
		return ChangePage{}, pr.Err()
	}
	if limit == 0 {
		limit = DefaultChangesPage
	}
	mask, err := c.visible(ctx, p, patient.ID)
	if err != nil {
		return ChangePage{}, err
	}
	pos := feedToken{V: 1, At: feedOrigin.UnixMilli(), Mask: mask}
	reset := since == ""
	if !reset {
		t, err := decodeFeedToken(since)
		if err != nil {
			return ChangePage{}, err
		}
		if t.Mask == mask {
			pos = t
		} else {
			reset = true
		}
	}
	now := models.Instant(c.now())
	var all []Change
	for src := range sourceCount {
		if mask&(1<<src) == 0 {
			continue
		}
		got, err := c.read(ctx, src, p, patient.ID, afterKey(pos, src), now, limit+1)
		if err != nil {
			return ChangePage{}, err
		}
		all = append(all, got...)
	}
	slices.SortFunc(all, func(a, b Change) int {
		return cmp.Or(a.UpdatedAt.Compare(b.UpdatedAt), cmp.Compare(a.source, b.source), strings.Compare(a.ID, b.ID))
	})
	page := ChangePage{Reset: reset, HasMore: len(all) > limit}
	if page.HasMore {
		all = all[:limit]
	}
	page.Changes = all
	floor := now.Add(-SyncSettle).UnixMilli()
	if pos.Floor != 0 {
		floor = min(floor, pos.Floor)
	}
	next := feedToken{V: 1, At: pos.At, Source: pos.Source, ID: pos.ID, Mask: mask}
	if n := len(all); n > 0 {
		last := all[n-1]
		next.At, next.Source, next.ID = last.UpdatedAt.UnixMilli(), last.source, last.ID
	}
	if page.HasMore {
		next.Floor = floor
	} else if next.At >= floor {
		// Caught up: keep the token behind the settle horizon.
		next.At, next.Source, next.ID = floor, 0, ""
	}
	page.Next = next.encode()
	return page, nil
}

// afterKey is the key after which source src continues from pos.
func afterKey(pos feedToken, src int) models.ChangeKey {
	k := models.ChangeKey{At: time.UnixMilli(pos.At).UTC()}
	switch {
	case src < pos.Source:
		k.ID = afterEveryID
	case src == pos.Source:
		k.ID = pos.ID
	}
	return k
}

// visible returns the sources p may see of the patient's data, as bits.
func (c *Changes) visible(ctx context.Context, p models.Principal, patientID string) (int, error) {
	mask := 1<<sourceNotifications | 1<<sourceCareLinks
	if p.Role == models.RolePharmacist {
		mask = 0
	}
	for _, a := range []struct {
		action  Action
		sources []int
	}{
		{ReadReadings, []int{sourceReadings}},
		{ReadMedications, []int{sourceMedications, sourceDoses, sourceDoseTombstones}},
	} {
		ok, err := c.access.May(ctx, p, patientID, a.action)
		if err != nil {
			return 0, err
		}
		if ok {
			for _, s := range a.sources {
				mask |= 1 << s
			}
		}
	}
	return mask, nil
}

// read returns up to limit entries of one source after key.
func (c *Changes) read(ctx context.Context, src int, p models.Principal, patientID string, after models.ChangeKey, upTo time.Time, limit int) ([]Change, error) {
	var out []Change
	switch src {
	case sourceReadings:
		rs, err := c.src.Readings.Changed(ctx, patientID, after, upTo, limit)
		for i := range rs {
			out = append(out, Change{Kind: models.FeedReading, ID: rs[i].ID, UpdatedAt: rs[i].UpdatedAt, Deleted: rs[i].DeletedAt != nil, Reading: &rs[i], source: src})
		}
		return out, err
	case sourceMedications:
		ms, err := c.src.Medications.Changed(ctx, patientID, after, upTo, limit)
		for i := range ms {
			out = append(out, Change{Kind: models.FeedMedication, ID: ms[i].ID, UpdatedAt: ms[i].UpdatedAt, Medication: &ms[i], source: src})
		}
		return out, err
	case sourceDoses:
		ds, err := c.src.Doses.Changed(ctx, patientID, after, upTo, limit)
		for i := range ds {
			out = append(out, Change{Kind: models.FeedDose, ID: ds[i].ID, UpdatedAt: ds[i].UpdatedAt, Dose: &ds[i], source: src})
		}
		return out, err
	case sourceDoseTombstones:
		ts, err := c.src.Doses.Deleted(ctx, patientID, after, upTo, limit)
		for _, t := range ts {
			out = append(out, Change{Kind: t.Kind, ID: t.ID, UpdatedAt: t.DeletedAt, Deleted: true, source: src})
		}
		return out, err
	case sourceNotifications:
		// A patient's own reminders name no patient; alerts about a
		// patient (to a carer) name them.
		scopes := []string{patientID}
		if p.UserID == patientID {
			scopes = append(scopes, "")
		}
		for _, scope := range scopes {
			ns, err := c.src.Notifications.Changed(ctx, p.UserID, scope, after, upTo, limit)
			if err != nil {
				return nil, err
			}
			for i := range ns {
				out = append(out, Change{Kind: models.FeedNotification, ID: ns[i].ID, UpdatedAt: ns[i].UpdatedAt,
					Deleted: ns[i].State == models.NotificationCancelled, Notification: &ns[i], source: src})
			}
		}
		return out, nil
	case sourceCareLinks:
		var ls []models.CareLink
		var err error
		if p.UserID == patientID {
			ls, err = c.src.Links.LinksChanged(ctx, patientID, after, upTo, limit)
		} else {
			// A carer sees their own link only.
			l, lerr := c.src.Links.Link(ctx, models.CareLinkID(patientID, p.UserID))
			at := models.Instant(l.UpdatedAt)
			if lerr == nil && l.CarerID == p.UserID && !at.After(upTo) &&
				(at.After(after.At) || (at.Equal(after.At) && l.ID > after.ID)) {
				ls = append(ls, l)
			}
			if lerr != nil && !models.IsCode(lerr, models.CodeNotFound) {
				err = lerr
			}
		}
		for i := range ls {
			out = append(out, Change{Kind: models.FeedCareLink, ID: ls[i].ID, UpdatedAt: ls[i].UpdatedAt,
				Deleted: ls[i].Status == models.LinkRevoked, CareLink: &ls[i], source: src})
		}
		return out, err
	}
	return nil, nil
}
