package services

import (
	"github.com/mtibben/confusables"
	"golang.org/x/text/unicode/norm"

	"github.com/concord-health/concord/models"
)

// canonicalEmail is an address as Concord stores and compares it: NFC
// (so "é" typed as one character or as "e" and a combining accent is one
// address), then models.NormalizeEmail (trimmed, lower case, a plain
// addr-spec, no invisible characters).
func canonicalEmail(s string) (string, bool) {
	return models.NormalizeEmail(norm.NFC.String(s))
}

// emailKey is a canonical address's confusable skeleton (Unicode TR39,
// through github.com/mtibben/confusables): two addresses that look alike
// — "paul@example.org" with a Latin or a Cyrillic "a", "rn" and "m", "l"
// and "1" — have the same key, and the store keeps keys unique, so the
// second cannot register. The cost: of two real addresses that differ only
// by look-alike characters the second cannot sign up by itself; an admin
// can tell them apart.
func emailKey(email string) string { return confusables.Skeleton(email) }
