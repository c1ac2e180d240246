package services

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/concord-health/concord/models"
)

// Token settings.
const (
	AccessTokenTTL  = 15 * time.Minute
	RefreshTokenTTL = 30 * 24 * time.Hour
	// RefreshReuseGrace is how long after a refresh token is spent the same
	// token still gets the same successor instead of ending the session:
	// two requests of one app that both found their access token expired,
	// or a retry after a lost response, arrive within seconds. After it, a
	// spent token presented again is a replay and ends the whole session.
	RefreshReuseGrace = 10 * time.Second
	TokenIssuer       = "concord"
	TokenAudience     = "concord-api"
)

// Tokens signs and verifies access tokens (EdDSA JWTs) with one key.
type Tokens struct {
	key ed25519.PrivateKey
	kid string
	now func() time.Time
	// successors keys the derivation of a spent refresh token's successor.
	successors []byte
}

// NewTokens returns a signer for key; the key id is the key's RFC 7638
// thumbprint.
func NewTokens(key ed25519.PrivateKey, now func() time.Time) *Tokens {
	mac := hmac.New(sha256.New, key.Seed())
	mac.Write([]byte("concord refresh-token successors v1"))
	return &Tokens{key: key, kid: thumbprint(key.Public().(ed25519.PublicKey)), now: now, successors: mac.Sum(nil)}
}

// accessClaims are the claims of an access token.
type accessClaims struct {
	Role models.Role `json:"role"`
	SID  string      `json:"sid"`
	jwt.RegisteredClaims
}

// Issue returns a signed access token for the principal.
func (t *Tokens) Issue(p models.Principal) (string, error) {
	now := t.now()
	claims := accessClaims{
		Role: p.Role,
		SID:  p.SessionID,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   p.UserID,
			Issuer:    TokenIssuer,
			Audience:  jwt.ClaimStrings{TokenAudience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(AccessTokenTTL)),
			ID:        randomID(),
		},
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"] = t.kid
	s, err := tok.SignedString(t.key)
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	return s, nil
}

// Verify checks an access token: EdDSA only, our key id, signature, and
// exp/iss/aud required and valid. Any failure is unauthorized.
func (t *Tokens) Verify(raw string) (models.Principal, error) {
	var claims accessClaims
	_, err := jwt.ParseWithClaims(raw, &claims, func(tok *jwt.Token) (any, error) {
		if kid, _ := tok.Header["kid"].(string); kid != t.kid {
			return nil, fmt.Errorf("unknown key id")
		}
		return t.key.Public(), nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(TokenIssuer),
		jwt.WithAudience(TokenAudience),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(t.now),
	)
	if err != nil || claims.Subject == "" || !claims.Role.Valid() || claims.SID == "" {
		return models.Principal{}, &models.Error{Code: models.CodeUnauthorized, Message: "invalid or expired access token", Err: err}
	}
	return models.Principal{UserID: claims.Subject, Role: claims.Role, SessionID: claims.SID}, nil
}

// JWKS returns the JSON Web Key Set with the public key.
func (t *Tokens) JWKS() map[string]any {
	pub := t.key.Public().(ed25519.PublicKey)
	return map[string]any{"keys": []map[string]string{{
		"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": t.kid,
		"x": base64.RawURLEncoding.EncodeToString(pub),
	}}}
}

// KeyID is the key id put in every token's header.
func (t *Tokens) KeyID() string { return t.kid }

func thumbprint(pub ed25519.PublicKey) string {
	// RFC 7638: members in lexicographic order, no whitespace.
	j, _ := json.Marshal(struct {
		Crv string `json:"crv"`
		Kty string `json:"kty"`
		X   string `json:"x"`
	}{"Ed25519", "OKP", base64.RawURLEncoding.EncodeToString(pub)})
	sum := sha256.Sum256(j)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// randomID returns 128 random bits as 32 hex characters.
func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newRefreshToken returns an opaque refresh token and the hash it is stored under.
func newRefreshToken() (token, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token = "crt_" + base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token)
}

// successorRefreshToken returns the refresh token that replaces token when
// it is spent, and its hash: derived from token with a key only this
// server's signing key gives, so the same spent token always has the same
// successor (RefreshReuseGrace) and nobody without the key can compute it.
func (t *Tokens) successorRefreshToken(token string) (successor, hash string) {
	mac := hmac.New(sha256.New, t.successors)
	mac.Write([]byte(token))
	successor = "crt_" + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	return successor, hashToken(successor)
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
