package fhir

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"
)

// uuidNamespace is the namespace of the name-based UUIDs this package
// derives (RFC 9562 version 5). It is fixed: changing it changes every
// derived id.
var uuidNamespace = [16]byte{0x3b, 0x6f, 0x0c, 0x52, 0x8e, 0x1d, 0x4a, 0x7e, 0x9c, 0x61, 0x0d, 0x2a, 0x95, 0x47, 0xb3, 0x18}

// nameUUID returns the version 5 UUID of name in uuidNamespace, in its
// lower-case 8-4-4-4-12 form.
func nameUUID(name string) string {
	h := sha1.New()
	h.Write(uuidNamespace[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	var b strings.Builder
	for i, part := range [][]byte{u[0:4], u[4:6], u[6:8], u[8:10], u[10:16]} {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(hex.EncodeToString(part))
	}
	return b.String()
}

// isUUID reports whether s is a UUID in its 8-4-4-4-12 form, either case.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		default:
			return false
		}
	}
	return true
}

// resourceUUID is the UUID a Concord record is exported under: its own id
// when that is a UUID (users, readings, medicines, consents), else one
// derived from kind and id (doses and flags, whose ids are composite). The
// same record always gets the same UUID, so exports can be compared and
// receivers can de-duplicate.
func resourceUUID(kind, id string) string {
	if isUUID(id) {
		return strings.ToLower(id)
	}
	return nameUUID("concord:" + kind + ":" + id)
}
