package services

// PlanFingerprint is planFingerprint for the external tests: the
// scheduler benchmark stores plan records the way Doses would, without
// planning 10,000 medications one by one.
var PlanFingerprint = planFingerprint
