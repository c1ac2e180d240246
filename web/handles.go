package web

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"

	"github.com/gofiber/fiber/v2"

	"github.com/concord-health/concord/models"
)

// Keys derived from a browser session's token, which the server never
// stores (it keeps the token's hash): whatever they protect is good only
// in the browser that holds the cookie, and only while its session lasts.
var (
	csrfLabel   = []byte("concord web: form token")
	handleLabel = []byte("concord web: url handles")
)

func derive(token string, label []byte) []byte {
	m := hmac.New(sha256.New, []byte(token))
	m.Write(label)
	return m.Sum(nil)
}

// csrfToken is the session's form token: every form of the session
// carries it, and every POST must.
func csrfToken(sessionToken string) string {
	return base64.RawURLEncoding.EncodeToString(derive(sessionToken, csrfLabel))
}

var errBadForm = models.Errorf(models.CodeForbidden, "this form could not be accepted: it has expired or did not come from this workspace")

// checkCSRF refuses a POST from a signed-in browser without the session's
// form token, and any request a browser marks as sent by another site.
func (w *Workspace) checkCSRF(c *fiber.Ctx) error {
	v, ok := visitorOf(c)
	if !ok || !sameToken(c.FormValue("csrf"), v.csrf) || c.Get("Sec-Fetch-Site") == "cross-site" {
		return w.errorPage(c, errBadForm)
	}
	return c.Next()
}

// handleKey seals the ids a page puts in its links (a patient's, a flag's,
// a queue position) into handles: AES-256-GCM under a key derived from
// the session's token, with what the handle names as additional data, so
// a patient's handle never opens as a flag. A URL with a handle says
// nothing about whom or what it names, and opens nothing in another
// session.
type handleKey struct{ aead cipher.AEAD }

// Kinds of handle.
const (
	handlePatient = "patient"
	handleFlag    = "flag"
	handleCursor  = "cursor"
)

func newHandleKey(sessionToken string) handleKey {
	block, err := aes.NewCipher(derive(sessionToken, handleLabel))
	if err != nil {
		panic(err) // a 32-byte key is always valid
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return handleKey{aead: aead}
}

// seal returns the handle of id as kind.
func (k handleKey) seal(kind, id string) string {
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(id)+k.aead.Overhead())
	_, _ = rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(k.aead.Seal(nonce, nonce, []byte(id), []byte(kind)))
}

// open returns the id a handle of kind names; false for anything this
// session did not seal as kind.
func (k handleKey) open(kind, handle string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(handle)
	if err != nil || len(b) < k.aead.NonceSize()+k.aead.Overhead() || len(handle) > 1024 {
		return "", false
	}
	n := k.aead.NonceSize()
	id, err := k.aead.Open(nil, b[:n], b[n:], []byte(kind))
	if err != nil {
		return "", false
	}
	return string(id), true
}
