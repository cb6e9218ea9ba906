// Package auth holds orderflow's authentication plumbing: verifying the
// customers' bearer JWTs against a key set (Verifier), the development
// issuer that `make run` and the token tool use (Issuer, DevDir), and the
// shared service token internal services check on each other's calls
// (RequireServiceToken, ServiceTransport).
package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// RoleAdmin is the role that may read any customer's orders.
const RoleAdmin = "admin"

// Algorithms are the signing algorithms a customer token may use.
var Algorithms = []string{"RS256", "ES256"}

// Principal is who a verified token speaks for.
type Principal struct {
	// Customer is the token's subject, a customer id (canonical UUID).
	Customer string
	// Admin is set when the token has the admin role.
	Admin bool
	// Expires is when the token stops being valid.
	Expires time.Time
}

// Claims are the claims orderflow reads from a customer token.
type Claims struct {
	jwt.RegisteredClaims
	// Roles lists the token's roles; "admin" is the only one known.
	Roles []string `json:"roles,omitempty"`
}

// Error is a token that was refused; its message says why in words a
// client can act on, and never contains the token.
type Error struct{ Reason string }

func (e *Error) Error() string { return e.Reason }

// VerifierConfig says which tokens to trust.
type VerifierConfig struct {
	// JWKS is where the trusted public keys are: a JWKS file, or an http(s)
	// URL that is fetched at start and refreshed in the background.
	JWKS string
	// Issuer and Audience must equal the token's iss and be one of its aud.
	Issuer, Audience string
	// Leeway tolerates clock skew on exp, nbf and iat.
	Leeway time.Duration
}

// Verifier checks customer tokens: signature (RS256 or ES256, by a key of
// the set), exp (required), nbf, iss, aud, and a UUID subject.
type Verifier struct {
	keys   keyfunc.Keyfunc
	parser *jwt.Parser
	cfg    VerifierConfig
}

// NewVerifier loads the key set. A URL's keys are refreshed until ctx ends.
func NewVerifier(ctx context.Context, cfg VerifierConfig) (*Verifier, error) {
	if cfg.JWKS == "" || cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("a verifier needs a JWKS file or URL, an issuer and an audience")
	}
	var keys keyfunc.Keyfunc
	var err error
	if u, perr := url.Parse(cfg.JWKS); perr == nil && (u.Scheme == "http" || u.Scheme == "https") {
		keys, err = keyfunc.NewDefaultCtx(ctx, []string{cfg.JWKS})
	} else {
		var raw []byte
		if raw, err = os.ReadFile(cfg.JWKS); err == nil {
			if !json.Valid(raw) {
				return nil, fmt.Errorf("key set %s is not JSON", cfg.JWKS)
			}
			keys, err = keyfunc.NewJWKSetJSON(raw)
		}
		if err == nil {
			// A file with no usable key would refuse every token as
			// signed by an unknown key; say so at start instead.
			if all, rerr := keys.Storage().KeyReadAll(ctx); rerr == nil && len(all) == 0 {
				return nil, fmt.Errorf("key set %s holds no keys", cfg.JWKS)
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("load key set %s: %w", cfg.JWKS, err)
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods(Algorithms),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
	)
	return &Verifier{keys: keys, parser: parser, cfg: cfg}, nil
}

// Verify checks a token (without its "Bearer " prefix). A refused token is
// an *Error.
func (v *Verifier) Verify(raw string) (Principal, error) {
	var claims Claims
	token, err := v.parser.ParseWithClaims(raw, &claims, v.keys.Keyfunc)
	if err != nil {
		return Principal{}, &Error{Reason: v.reason(err, token, &claims)}
	}
	id, err := uuid.Parse(claims.Subject)
	if err != nil || len(claims.Subject) != 36 {
		return Principal{}, &Error{Reason: fmt.Sprintf("the token's subject (sub) must be a customer id, a UUID; it is %q", truncate(claims.Subject, 64))}
	}
	return Principal{
		Customer: id.String(),
		Admin:    slices.Contains(claims.Roles, RoleAdmin),
		Expires:  claims.ExpiresAt.Time,
	}, nil
}

// reason words a parse error of token t (nil when it did not split into
// three parts). The checks of golang-jwt report every failed claim; the
// first one a person should fix is named.
func (v *Verifier) reason(err error, t *jwt.Token, c *Claims) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "the bearer token is malformed: a JWT is three base64url parts separated by dots"
	case errors.Is(err, jwt.ErrTokenUnverifiable), errors.Is(err, jwt.ErrTokenSignatureInvalid):
		if r := headerAlg(t); r != "" {
			return r
		}
		return "the token's signature does not match any trusted key: it was not issued by this deployment's issuer"
	// golang-jwt reports a missing exp, aud or iss alike, as a required
	// claim missing: which one is read from the claims.
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing) && c.ExpiresAt == nil:
		return "the token has no expiry (exp); tokens must expire"
	case errors.Is(err, jwt.ErrTokenExpired):
		return fmt.Sprintf("the token expired at %s; get a new one", c.ExpiresAt.UTC().Format(time.RFC3339))
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return fmt.Sprintf("the token is not valid before %s", c.NotBefore.UTC().Format(time.RFC3339))
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "the token is issued in the future (iat); check the issuer's clock"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing) && noAudience(c.Audience):
		return fmt.Sprintf("the token has no audience (aud); it must be %q", v.cfg.Audience)
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return fmt.Sprintf("the token's audience is %s, not %q", quoteAll(c.Audience), v.cfg.Audience)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing) && c.Issuer == "":
		return fmt.Sprintf("the token has no issuer (iss); it must be %q", v.cfg.Issuer)
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return fmt.Sprintf("the token's issuer is %q, not %q", truncate(c.Issuer, 64), v.cfg.Issuer)
	}
	return "the token is not valid: " + err.Error()
}

// headerAlg words a signing method that is not accepted (golang-jwt
// reports it as an invalid or unverifiable signature), or returns "" when
// the token's header names one of Algorithms. It reads the alg of the
// parsed header rather than golang-jwt's wording, which a kid in the
// header could imitate.
func headerAlg(t *jwt.Token) string {
	if t == nil {
		return ""
	}
	alg, _ := t.Header["alg"].(string)
	if slices.Contains(Algorithms, alg) {
		return ""
	}
	use := strings.Join(Algorithms, " or ")
	if alg == "" {
		return fmt.Sprintf("the token's header names no signing method (alg); it must be signed with %s", use)
	}
	return fmt.Sprintf("the token's signing method %q is not accepted; it must be signed with %s", truncate(alg, 16), use)
}

// noAudience is golang-jwt's test for an absent aud.
func noAudience(aud jwt.ClaimStrings) bool {
	return len(aud) == 0 || len(aud) == 1 && aud[0] == ""
}

func quoteAll(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", truncate(s, 64))
	}
	return strings.Join(q, ", ")
}

// truncate shortens s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
