package services

// PlanFingerprint is planFingerprint for the external tests: the
// scheduler benchmark stores plan records the way Doses would, without
// planning 10,000 medications one by one.
var PlanFingerprint = planFingerprint

// PlanDue is planDue for the external tests.
var PlanDue = planDue

// HoldPasswordSlots takes every password-hashing slot of a, as a storm of
// logins would, until release is called.
func HoldPasswordSlots(a *Auth) (release func()) {
	for range cap(a.passwords.slots) {
		a.passwords.slots <- struct{}{}
	}
	return func() {
		for range cap(a.passwords.slots) {
			<-a.passwords.slots
		}
	}
}
