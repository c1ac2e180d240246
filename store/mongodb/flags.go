package mongodb

import (
	"context"
	"errors"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
)

// Two collections hold review flags:
//
//   - flags: one document per flag, _id = models.FlagID(patient, rule, seq).
//     The seq-th flag of a rule for a patient has one possible _id, so two
//     evaluations raising it at once collide on _id and exactly one wins,
//     on every server.
//   - flag_slots: one small document per (patient, rule), _id =
//     models.FlagSlotID, remembering the latest seq, so that finding a
//     patient's current flag of a rule is two exact-_id reads. It is a hint:
//     the flags themselves decide (a stale seq only costs a failed insert).
const (
	flagsCollection     = "flags"
	flagSlotsCollection = "flag_slots"
)

var flagIndexes = []index{
	// The queue: a pharmacy's flags in a status, most severe, then oldest first.
	{flagsCollection, mongo.IndexModel{Keys: bson.D{{Key: "pharmacyId", Value: 1}, {Key: "status", Value: 1}, {Key: "severityRank", Value: -1}, {Key: "queuedAt", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("pharmacy_queue")}},
	// A patient's live flags (summary, consent ended).
	{flagsCollection, mongo.IndexModel{Keys: bson.D{{Key: "patientId", Value: 1}, {Key: "live", Value: 1}}, Options: options.Index().SetName("patient_live")}},
	// Follow-ups that have come due.
	{flagsCollection, mongo.IndexModel{Keys: bson.D{{Key: "status", Value: 1}, {Key: "followUpAt", Value: 1}}, Options: options.Index().SetName("status_follow_up")}},
}

// Flags stores review flags, each as a store.FlagRecord: its live field
// always holds models.LiveFlag(status, followUpAt is set), set by the
// insert and by every status change from that function (setStatus), and
// severityRank its severity's rank.
type Flags struct {
	flags *mongo.Collection
	slots *mongo.Collection
}

// Flags returns the review-flags store.
func (s *Store) Flags() store.Flags {
	return &Flags{flags: s.db.Collection(flagsCollection), slots: s.db.Collection(flagSlotsCollection)}
}

// Insert stores a new flag; conflict if its _id (patient, rule, seq) is
// taken.
func (f *Flags) Insert(ctx context.Context, flag models.Flag) error {
	_, err := f.flags.InsertOne(ctx, store.FlagRecordOf(flag))
	return translate(err, "insert flag %s", flag.ID)
}

// Get returns a flag by id (one exact-_id read); not_found if there is none.
func (f *Flags) Get(ctx context.Context, id string) (models.Flag, error) {
	return byID[models.Flag](ctx, f.flags, id, "flag")
}

// LatestSeq returns the seq of the latest flag of a rule for a patient as
// last recorded (0: none recorded). A newer flag may exist.
func (f *Flags) LatestSeq(ctx context.Context, patientID string, rule models.FlagRuleID) (int, error) {
	var s store.FlagSlot
	err := f.slots.FindOne(ctx, bson.D{{Key: "_id", Value: models.FlagSlotID(patientID, rule)}}).Decode(&s)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	return s.Seq, translate(err, "flag slot of %s", patientID)
}

// RecordSeq records seq as the latest flag of a rule for a patient unless
// a later one is recorded already.
func (f *Flags) RecordSeq(ctx context.Context, patientID string, rule models.FlagRuleID, seq int) error {
	id := models.FlagSlotID(patientID, rule)
	_, err := f.slots.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "seq", Value: bson.D{{Key: "$lt", Value: seq}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "seq", Value: seq}}}},
		options.UpdateOne().SetUpsert(true))
	if mongo.IsDuplicateKeyError(err) {
		return nil // a later (or the same) seq is recorded
	}
	return translate(err, "record flag slot %s", id)
}

// setStatus is the $set of status and live for a write that leaves the
// flag in status, with (followUp) or without a follow-up date: live is
// models.LiveFlag's answer for them.
func setStatus(status models.FlagStatus, followUp bool) bson.D {
	return bson.D{{Key: "status", Value: status}, {Key: "live", Value: models.LiveFlag(status, followUp)}}
}

// setStatusKeepingFollowUp is setStatus for a write that moves a flag to
// claimed or closed and keeps a follow-up date it does not read (Claim,
// Close; one write cannot set a value that depends on the stored date
// within the MongoDB subset Concord uses). models.LiveFlag gives those
// statuses the same answer with and without a follow-up date;
// TestFlagLiveFollowsTheRule claims and closes flags with and without one,
// so a rule that told them apart would fail it.
func setStatusKeepingFollowUp(status models.FlagStatus) bson.D { return setStatus(status, false) }

// liveFilter matches the flag id while it is live.
func liveFilter(id string) bson.D {
	return bson.D{{Key: "_id", Value: id}, {Key: "live", Value: true}}
}

// Refire stores new evidence on a live flag, with its history event, and
// reports whether the flag was still live. With reopen (only for a flag
// resolved with a follow-up still to come) it is also back in the queue:
// open, unclaimed, queued at `at`.
func (f *Flags) Refire(ctx context.Context, id string, ev models.FlagEvidence, key string, sev models.Severity, at time.Time, event models.FlagEvent, reopen bool) (bool, error) {
	filter := liveFilter(id)
	set := bson.D{
		{Key: "evidence", Value: ev}, {Key: "evidenceKey", Value: key},
		{Key: "severity", Value: sev}, {Key: "severityRank", Value: sev.Rank()},
		{Key: "updatedAt", Value: at},
	}
	update := bson.D{}
	if reopen {
		// A live resolved flag has a follow-up date, which it keeps.
		filter = append(filter, bson.E{Key: "status", Value: models.FlagResolved}, bson.E{Key: "followUpAt", Value: bson.D{{Key: "$exists", Value: true}}})
		set = append(append(set, setStatus(models.FlagOpen, true)...), bson.E{Key: "queuedAt", Value: at})
		update = append(update, bson.E{Key: "$unset", Value: bson.D{{Key: "claimedBy", Value: ""}, {Key: "claimedAt", Value: ""}}})
	}
	update = append(update, bson.E{Key: "$set", Value: set}, bson.E{Key: "$push", Value: bson.D{{Key: "history", Value: event}}})
	res, err := f.flags.UpdateOne(ctx, filter, update)
	if err != nil {
		return false, translate(err, "refire flag %s", id)
	}
	return res.MatchedCount == 1, nil
}

// Claim makes an open flag claimed by `by` and reports whether this call
// did. Of any number of concurrent claims exactly one gets true: one
// conditional write, atomic on MongoDB.
func (f *Flags) Claim(ctx context.Context, id, by string, at time.Time) (bool, error) {
	res, err := f.flags.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "status", Value: models.FlagOpen}},
		bson.D{
			{Key: "$set", Value: append(setStatusKeepingFollowUp(models.FlagClaimed),
				bson.E{Key: "claimedBy", Value: by}, bson.E{Key: "claimedAt", Value: at}, bson.E{Key: "updatedAt", Value: at})},
			{Key: "$push", Value: bson.D{{Key: "history", Value: models.FlagEvent{At: at, By: by, Event: models.FlagEventClaimed}}}},
		})
	if err != nil {
		return false, translate(err, "claim flag %s", id)
	}
	return res.ModifiedCount == 1, nil
}

// AddNote appends a note to a flag that is not closed and holds fewer
// than maxNotes notes, and reports whether it did: one conditional write
// (no element at position maxNotes-1 means fewer than maxNotes).
func (f *Flags) AddNote(ctx context.Context, id string, note models.FlagNote, maxNotes int) (bool, error) {
	if maxNotes <= 0 {
		return false, nil
	}
	res, err := f.flags.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "status", Value: bson.D{{Key: "$ne", Value: models.FlagClosed}}},
			{Key: "notes." + strconv.Itoa(maxNotes-1), Value: bson.D{{Key: "$exists", Value: false}}}},
		bson.D{
			{Key: "$set", Value: bson.D{{Key: "updatedAt", Value: note.At}}},
			{Key: "$push", Value: bson.D{
				{Key: "notes", Value: note},
				{Key: "history", Value: models.FlagEvent{At: note.At, By: note.By, Event: models.FlagEventNote}},
			}},
		})
	if err != nil {
		return false, translate(err, "note on flag %s", id)
	}
	return res.ModifiedCount == 1, nil
}

// Resolve resolves a flag that is open, or claimed by `by`, with the
// outcome and note, and reports whether it did. With a follow-up date the
// flag stays live and is queued again at that date; without one it is no
// longer live.
func (f *Flags) Resolve(ctx context.Context, id, by string, outcome models.FlagOutcome, note string, followUpAt *time.Time, at time.Time) (bool, error) {
	set := append(setStatus(models.FlagResolved, followUpAt != nil), bson.D{
		{Key: "outcome", Value: outcome},
		{Key: "resolvedBy", Value: by},
		{Key: "resolvedAt", Value: at},
		{Key: "claimedBy", Value: by},
		{Key: "updatedAt", Value: at},
	}...)
	update := bson.D{}
	if followUpAt != nil {
		set = append(set, bson.E{Key: "followUpAt", Value: *followUpAt}, bson.E{Key: "queuedAt", Value: *followUpAt})
	} else {
		update = append(update, bson.E{Key: "$unset", Value: bson.D{{Key: "followUpAt", Value: ""}}})
	}
	update = append(update,
		bson.E{Key: "$set", Value: set},
		bson.E{Key: "$push", Value: bson.D{
			{Key: "notes", Value: models.FlagNote{By: by, At: at, Text: note}},
			{Key: "history", Value: models.FlagEvent{At: at, By: by, Event: models.FlagEventResolved, Outcome: outcome, FollowUpAt: followUpAt}},
		}})
	res, err := f.flags.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "$or", Value: bson.A{
			bson.D{{Key: "status", Value: models.FlagOpen}},
			bson.D{{Key: "status", Value: models.FlagClaimed}, {Key: "claimedBy", Value: by}},
		}}},
		update)
	if err != nil {
		return false, translate(err, "resolve flag %s", id)
	}
	return res.ModifiedCount == 1, nil
}

// ReopenFollowUp puts a resolved flag whose follow-up date has come by now
// back in the queue (open, unclaimed) and reports whether this call did.
func (f *Flags) ReopenFollowUp(ctx context.Context, flag models.Flag, now time.Time) (bool, error) {
	if flag.FollowUpAt == nil {
		return false, nil
	}
	res, err := f.flags.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: flag.ID}, {Key: "status", Value: models.FlagResolved}, {Key: "live", Value: true},
			{Key: "followUpAt", Value: bson.D{{Key: "$lte", Value: now}}}},
		bson.D{
			{Key: "$set", Value: append(setStatus(models.FlagOpen, true), bson.E{Key: "queuedAt", Value: *flag.FollowUpAt}, bson.E{Key: "updatedAt", Value: now})},
			{Key: "$unset", Value: bson.D{{Key: "claimedBy", Value: ""}, {Key: "claimedAt", Value: ""}}},
			{Key: "$push", Value: bson.D{{Key: "history", Value: models.FlagEvent{At: *flag.FollowUpAt, Event: models.FlagEventFollowUpDue}}}},
		})
	if err != nil {
		return false, translate(err, "reopen flag %s", flag.ID)
	}
	return res.ModifiedCount == 1, nil
}

// Close closes a live flag without review (reason: why) and reports
// whether this call did.
func (f *Flags) Close(ctx context.Context, id, reason string, at time.Time) (bool, error) {
	res, err := f.flags.UpdateOne(ctx, liveFilter(id), bson.D{
		{Key: "$set", Value: append(setStatusKeepingFollowUp(models.FlagClosed),
			bson.E{Key: "closeReason", Value: reason}, bson.E{Key: "closedAt", Value: at}, bson.E{Key: "updatedAt", Value: at})},
		{Key: "$push", Value: bson.D{{Key: "history", Value: models.FlagEvent{At: at, Event: models.FlagEventClosed, Reason: reason}}}},
	})
	if err != nil {
		return false, translate(err, "close flag %s", id)
	}
	return res.ModifiedCount == 1, nil
}

// LiveOfPatient returns the patient's live flags (for one pharmacy unless
// pharmacyID is ""), by rule.
func (f *Flags) LiveOfPatient(ctx context.Context, patientID, pharmacyID string) ([]models.Flag, error) {
	filter := bson.D{{Key: "patientId", Value: patientID}, {Key: "live", Value: true}}
	if pharmacyID != "" {
		filter = append(filter, bson.E{Key: "pharmacyId", Value: pharmacyID})
	}
	return f.find(ctx, filter, options.Find().SetSort(bson.D{{Key: "rule", Value: 1}, {Key: "_id", Value: 1}}), "live flags of patient")
}

// OfPatient returns every flag of the patient, by (createdAt, id).
func (f *Flags) OfPatient(ctx context.Context, patientID string) ([]models.Flag, error) {
	return f.find(ctx, bson.D{{Key: "patientId", Value: patientID}},
		options.Find().SetSort(bson.D{{Key: "createdAt", Value: 1}, {Key: "_id", Value: 1}}), "flags of patient")
}

// DueFollowUps returns resolved flags whose follow-up date has come by now
// (of one pharmacy unless pharmacyID is "").
func (f *Flags) DueFollowUps(ctx context.Context, pharmacyID string, now time.Time) ([]models.Flag, error) {
	filter := bson.D{{Key: "status", Value: models.FlagResolved}, {Key: "followUpAt", Value: bson.D{{Key: "$lte", Value: now}}}}
	if pharmacyID != "" {
		filter = append(filter, bson.E{Key: "pharmacyId", Value: pharmacyID})
	}
	return f.find(ctx, filter, options.Find().SetSort(bson.D{{Key: "followUpAt", Value: 1}, {Key: "_id", Value: 1}}), "due follow-ups")
}

// Queue returns one page of a pharmacy's flags matching q, most severe
// first, then oldest in the queue, then by id, at most q.Limit of them.
func (f *Flags) Queue(ctx context.Context, q models.FlagQuery) ([]models.Flag, error) {
	filter := bson.D{{Key: "pharmacyId", Value: q.PharmacyID}}
	if len(q.Statuses) > 0 {
		filter = append(filter, bson.E{Key: "status", Value: bson.D{{Key: "$in", Value: q.Statuses}}})
	}
	if len(q.Severities) > 0 {
		filter = append(filter, bson.E{Key: "severity", Value: bson.D{{Key: "$in", Value: q.Severities}}})
	}
	if len(q.Rules) > 0 {
		filter = append(filter, bson.E{Key: "rule", Value: bson.D{{Key: "$in", Value: q.Rules}}})
	}
	if k := q.After; k != nil {
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "severityRank", Value: bson.D{{Key: "$lt", Value: k.SeverityRank}}}},
			bson.D{{Key: "severityRank", Value: k.SeverityRank}, {Key: "queuedAt", Value: bson.D{{Key: "$gt", Value: k.QueuedAt}}}},
			bson.D{{Key: "severityRank", Value: k.SeverityRank}, {Key: "queuedAt", Value: k.QueuedAt}, {Key: "_id", Value: bson.D{{Key: "$gt", Value: k.ID}}}},
		}})
	}
	opts := options.Find().
		SetSort(bson.D{{Key: "severityRank", Value: -1}, {Key: "queuedAt", Value: 1}, {Key: "_id", Value: 1}}).
		SetLimit(int64(q.Limit))
	return f.find(ctx, filter, opts, "flag queue of pharmacy "+q.PharmacyID)
}

func (f *Flags) find(ctx context.Context, filter bson.D, opts *options.FindOptionsBuilder, what string) ([]models.Flag, error) {
	cur, err := f.flags.Find(ctx, filter, opts)
	if err != nil {
		return nil, translate(err, "%s", what)
	}
	out := []models.Flag{}
	return out, translate(cur.All(ctx, &out), "%s", what)
}
