package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// PharmacyServices is what the pharmacy-service handlers call.
type PharmacyServices interface {
	List(ctx context.Context, patient models.User) ([]services.EpisodeView, error)
	Get(ctx context.Context, patient models.User, id string) (services.EpisodeView, error)
	Queue(ctx context.Context, p models.Principal, q services.ServiceQuery) (services.ServicePage, error)
	StartNMS(ctx context.Context, p models.Principal, patient models.User, in services.NMSStart) (services.EpisodeView, error)
	RecordNMSStage(ctx context.Context, p models.Principal, patient models.User, id, stage string, in services.NMSStage) (services.EpisodeView, error)
	RecordBPCheck(ctx context.Context, p models.Principal, patient models.User, in services.BPReading) (services.EpisodeView, error)
	RecordABPM(ctx context.Context, p models.Principal, patient models.User, id string, in services.BPReading) (services.EpisodeView, error)
	RecordDischarge(ctx context.Context, p models.Principal, patient models.User, in services.DischargeIn) (services.EpisodeView, error)
	RecordReconciliation(ctx context.Context, p models.Principal, patient models.User, id string, d []services.ChangeDecision, advice string) (services.EpisodeView, error)
	ReferForSMR(ctx context.Context, p models.Principal, patient models.User, in services.SMRReferralIn) (services.EpisodeView, error)
	Close(ctx context.Context, p models.Principal, patient models.User, id, reason string) (services.EpisodeView, error)
	Record(ctx context.Context, p models.Principal, patient models.User, id string) (services.ServiceRecord, error)
}

// serviceRoutes registers the pharmacy services: the patient and the
// nominated pharmacy's pharmacist read a patient's episodes; only that
// pharmacist records them. The policy decides (and audits) first, so a
// caller with no relationship learns nothing (404); the service then
// refuses anyone but a pharmacist (403: the patient themselves).
func (s *server) serviceRoutes(app *fiber.App, patient fiber.Router) {
	pharmacist := authenticated(s.Accounts, models.RolePharmacist)
	app.Get("/v1/pharmacy/services", pharmacist, s.serviceQueue)
	app.Get("/v1/pharmacy/services/rules", pharmacist, s.serviceRules)
	patient.Get("/services", s.listEpisodes)
	patient.Post("/services/nms", recording(s, http.StatusCreated, s.startNMS))
	patient.Post("/services/bp-check", recording(s, http.StatusCreated, s.recordBPCheck))
	patient.Post("/services/dms", recording(s, http.StatusCreated, s.recordDischarge))
	patient.Post("/services/smr-referrals", recording(s, http.StatusCreated, s.referForSMR))
	patient.Get("/services/:episodeId", s.getEpisode)
	patient.Get("/services/:episodeId/record", s.serviceRecord)
	patient.Post("/services/:episodeId/intervention", recording(s, http.StatusOK, s.recordNMSStage(models.StageIntervention)))
	patient.Post("/services/:episodeId/follow-up", recording(s, http.StatusOK, s.recordNMSStage(models.StageFollowUp)))
	patient.Post("/services/:episodeId/abpm", recording(s, http.StatusOK, s.recordABPM))
	patient.Post("/services/:episodeId/reconciliation", recording(s, http.StatusOK, s.recordReconciliation))
	patient.Post("/services/:episodeId/close", recording(s, http.StatusOK, s.closeEpisode))
}

// authorizeRecording asks the policy whether the caller may record the
// path's patient's services, then refuses anyone but a pharmacist (the
// patient may read their services, not record them).
func (s *server) authorizeRecording(c *fiber.Ctx) (models.User, error) {
	patient, err := s.authorize(c, services.RecordServices)
	if err != nil {
		return patient, err
	}
	if principal(c).Role != models.RolePharmacist {
		return models.User{}, models.Errorf(models.CodeForbidden, "only a pharmacist of the patient's pharmacy records services")
	}
	return patient, nil
}

// recording is the handler every recording route shares: decode the body
// (unknown fields refused) before anything else, ask the policy
// (authorizeRecording), then record with the path's patient and answer
// status with the episode as it now stands.
func recording[Req any](s *server, status int, record func(c *fiber.Ctx, patient models.User, req *Req) (services.EpisodeView, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req Req
		if err := decode(c, &req); err != nil {
			return err
		}
		patient, err := s.authorizeRecording(c)
		if err != nil {
			return err
		}
		v, err := record(c, patient, &req)
		if err != nil {
			return err
		}
		return c.Status(status).JSON(v)
	}
}

func (s *server) serviceQueue(c *fiber.Ctx) error {
	var p models.Problems
	q := services.ServiceQuery{
		Limit:  intParam(c, "limit", 1, services.MaxServicePage, services.DefaultServicePage, &p),
		Cursor: strings.Clone(c.Query("cursor")),
	}
	if err := p.Err(); err != nil {
		return err
	}
	page, err := s.Services.Queue(c.UserContext(), principal(c), q)
	if err != nil {
		return err
	}
	return c.JSON(page)
}

// serviceRulesResponse is the service rules table, the NMS conditions and
// the blood pressure bands of every setting, each with its source.
type serviceRulesResponse struct {
	Stages        []models.ServiceStageRule `json:"stages"`
	NMSConditions []models.NMSCondition     `json:"nmsConditions"`
	BPBands       []models.BandRule         `json:"bloodPressureBands"`
}

func (s *server) serviceRules(c *fiber.Ctx) error {
	var bands []models.BandRule
	for _, r := range models.ReadingBandRules() {
		if r.Type == models.ReadingBloodPressure {
			bands = append(bands, r)
		}
	}
	return c.JSON(serviceRulesResponse{Stages: models.ServiceStageRules(), NMSConditions: models.NMSConditions(), BPBands: bands})
}

type episodeList struct {
	Items []services.EpisodeView `json:"items"`
}

func (s *server) listEpisodes(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.ReadServices)
	if err != nil {
		return err
	}
	items, err := s.Services.List(c.UserContext(), patient)
	if err != nil {
		return err
	}
	return c.JSON(episodeList{Items: items})
}

func (s *server) getEpisode(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.ReadServices)
	if err != nil {
		return err
	}
	v, err := s.Services.Get(c.UserContext(), patient, pathParam(c, "episodeId"))
	if err != nil {
		return err
	}
	return c.JSON(v)
}

// findingsRequest is what a pharmacist writes of a consultation.
type findingsRequest struct {
	Problems    string `json:"problems"`
	SideEffects string `json:"sideEffects"`
	Advice      string `json:"advice"`
}

func (f *findingsRequest) model() models.Findings {
	if f == nil {
		return models.Findings{}
	}
	return models.Findings{Problems: f.Problems, SideEffects: f.SideEffects, Advice: f.Advice}
}

// referralRequest is a referral to the prescriber (NMS).
type referralRequest struct {
	Reason string `json:"reason"`
}

func (r *referralRequest) reason() *string {
	if r == nil {
		return nil
	}
	return &r.Reason
}

type nmsStartRequest struct {
	MedicationID string                     `json:"medicationId"`
	Condition    string                     `json:"condition"`
	Consent      bool                       `json:"consent"`
	Findings     *findingsRequest           `json:"findings"`
	Outcome      models.ConsultationOutcome `json:"outcome"`
	Referral     *referralRequest           `json:"referral"`
}

func (s *server) startNMS(c *fiber.Ctx, patient models.User, req *nmsStartRequest) (services.EpisodeView, error) {
	return s.Services.StartNMS(c.UserContext(), principal(c), patient, services.NMSStart{
		MedicationID: req.MedicationID, Condition: req.Condition, Consent: req.Consent, Findings: req.Findings.model(),
		Outcome: req.Outcome, ReferralReason: req.Referral.reason()})
}

type nmsStageRequest struct {
	Findings *findingsRequest           `json:"findings"`
	Outcome  models.ConsultationOutcome `json:"outcome"`
	Referral *referralRequest           `json:"referral"`
}

func (s *server) recordNMSStage(stage string) func(*fiber.Ctx, models.User, *nmsStageRequest) (services.EpisodeView, error) {
	return func(c *fiber.Ctx, patient models.User, req *nmsStageRequest) (services.EpisodeView, error) {
		return s.Services.RecordNMSStage(c.UserContext(), principal(c), patient, pathParam(c, "episodeId"), stage,
			services.NMSStage{Findings: req.Findings.model(), Outcome: req.Outcome, ReferralReason: req.Referral.reason()})
	}
}

type bpReadingRequest struct {
	Systolic  *float64 `json:"systolic"`
	Diastolic *float64 `json:"diastolic"`
	Pulse     *float64 `json:"pulse"`
	TakenAt   *string  `json:"takenAt"`
	Consent   *bool    `json:"consent"`
	Advice    string   `json:"advice"`
}

// reading converts the request, naming missing values; consent is only
// asked of a clinic reading.
func (r bpReadingRequest) reading(clinic bool) (services.BPReading, error) {
	var p models.Problems
	if r.Systolic == nil {
		p.Add("systolic", "is required")
	}
	if r.Diastolic == nil {
		p.Add("diastolic", "is required")
	}
	switch {
	case clinic && r.Consent == nil:
		p.Add("consent", "is required")
	case !clinic && r.Consent != nil:
		p.Add("consent", "is given at the clinic reading, not with the ABPM result")
	}
	at := parseBodyTime("takenAt", r.TakenAt, &p)
	if err := p.Err(); err != nil {
		return services.BPReading{}, err
	}
	return services.BPReading{Systolic: *r.Systolic, Diastolic: *r.Diastolic, Pulse: r.Pulse, TakenAt: at,
		Consent: r.Consent != nil && *r.Consent, Advice: r.Advice}, nil
}

func (s *server) recordBPCheck(c *fiber.Ctx, patient models.User, req *bpReadingRequest) (services.EpisodeView, error) {
	in, err := req.reading(true)
	if err != nil {
		return services.EpisodeView{}, err
	}
	return s.Services.RecordBPCheck(c.UserContext(), principal(c), patient, in)
}

func (s *server) recordABPM(c *fiber.Ctx, patient models.User, req *bpReadingRequest) (services.EpisodeView, error) {
	in, err := req.reading(false)
	if err != nil {
		return services.EpisodeView{}, err
	}
	return s.Services.RecordABPM(c.UserContext(), principal(c), patient, pathParam(c, "episodeId"), in)
}

type dischargeRequest struct {
	Hospital     string                     `json:"hospital"`
	DischargedAt *string                    `json:"dischargedAt"`
	ReceivedAt   *string                    `json:"receivedAt"`
	Medicines    []models.DischargeMedicine `json:"medicines"`
}

func (s *server) recordDischarge(c *fiber.Ctx, patient models.User, req *dischargeRequest) (services.EpisodeView, error) {
	var p models.Problems
	in := services.DischargeIn{Hospital: req.Hospital, Medicines: req.Medicines,
		DischargedAt: parseBodyTime("dischargedAt", req.DischargedAt, &p), ReceivedAt: parseBodyTime("receivedAt", req.ReceivedAt, &p)}
	if err := p.Err(); err != nil {
		return services.EpisodeView{}, err
	}
	return s.Services.RecordDischarge(c.UserContext(), principal(c), patient, in)
}

type decisionRequest struct {
	ChangeID string `json:"changeId"`
	Decision string `json:"decision"`
	Note     string `json:"note"`
}

type reconciliationRequest struct {
	Decisions []decisionRequest `json:"decisions"`
	Advice    string            `json:"advice"`
}

func (s *server) recordReconciliation(c *fiber.Ctx, patient models.User, req *reconciliationRequest) (services.EpisodeView, error) {
	ds := make([]services.ChangeDecision, len(req.Decisions))
	for i, d := range req.Decisions {
		ds[i] = services.ChangeDecision{ChangeID: d.ChangeID, Decision: d.Decision, Note: d.Note}
	}
	return s.Services.RecordReconciliation(c.UserContext(), principal(c), patient, pathParam(c, "episodeId"), ds, req.Advice)
}

type smrReferralRequest struct {
	To     models.ReferralTarget `json:"to"`
	Reason string                `json:"reason"`
	FlagID string                `json:"flagId"`
}

func (s *server) referForSMR(c *fiber.Ctx, patient models.User, req *smrReferralRequest) (services.EpisodeView, error) {
	return s.Services.ReferForSMR(c.UserContext(), principal(c), patient, services.SMRReferralIn{To: req.To, Reason: req.Reason, FlagID: req.FlagID})
}

type closeEpisodeRequest struct {
	Reason string `json:"reason"`
}

func (s *server) closeEpisode(c *fiber.Ctx, patient models.User, req *closeEpisodeRequest) (services.EpisodeView, error) {
	return s.Services.Close(c.UserContext(), principal(c), patient, pathParam(c, "episodeId"), req.Reason)
}
