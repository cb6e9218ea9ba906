package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// newDev is a fresh development auth directory.
func newDev(t *testing.T) *Dev {
	t.Helper()
	d, err := EnsureDev(t.TempDir())
	require.NoError(t, err)
	return d
}

// devVerifier trusts the dev names and the key set at jwks.
func devVerifier(t *testing.T, jwks string) *Verifier {
	t.Helper()
	v, err := NewVerifier(t.Context(), VerifierConfig{JWKS: jwks, Issuer: DevIssuer, Audience: DevAudience})
	require.NoError(t, err)
	return v
}

func issue(t *testing.T, i *Issuer, r TokenRequest) string {
	t.Helper()
	raw, err := i.Token(r)
	require.NoError(t, err)
	return raw
}

// sign signs claims by hand; kid "" leaves the header without one.
func sign(t *testing.T, m jwt.SigningMethod, key any, kid string, claims jwt.Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	raw, err := tok.SignedString(key)
	require.NoError(t, err)
	return raw
}

// devClaims are claims the dev verifier accepts, to be spoiled by a test.
func devClaims(sub string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss": DevIssuer,
		"aud": DevAudience,
		"sub": sub,
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
	}
}

// refused verifies raw, requires an *Error that does not echo the token,
// and returns its reason.
func refused(t *testing.T, v *Verifier, raw string) string {
	t.Helper()
	p, err := v.Verify(raw)
	require.Error(t, err)
	require.Zero(t, p, "a refused token yields no principal")
	var ae *Error
	require.True(t, errors.As(err, &ae), "Verify's error is an *auth.Error, got %T", err)
	require.Equal(t, ae.Reason, err.Error())
	require.NotEmpty(t, ae.Reason)
	if raw != "" {
		require.NotContains(t, ae.Reason, raw, "the reason must not contain the token")
	}
	if parts := strings.Split(raw, "."); len(parts) == 3 {
		for _, part := range parts {
			if len(part) >= 8 {
				require.NotContains(t, ae.Reason, part, "the reason must not contain a part of the token")
			}
		}
	}
	return ae.Reason
}

func TestVerifyValidToken(t *testing.T) {
	d := newDev(t)
	v := devVerifier(t, d.JWKS())
	customer := uuid.NewString()
	now := time.Now()

	p, err := v.Verify(issue(t, d.Issuer, TokenRequest{Customer: customer, TTL: time.Hour, Now: now}))
	require.NoError(t, err)
	require.Equal(t, customer, p.Customer)
	require.False(t, p.Admin)
	// exp is whole seconds.
	require.True(t, p.Expires.Equal(now.Add(time.Hour).Truncate(time.Second)), "Expires %s, want %s", p.Expires, now.Add(time.Hour))

	p, err = v.Verify(issue(t, d.Issuer, TokenRequest{Customer: customer, Admin: true, TTL: 5 * time.Minute}))
	require.NoError(t, err)
	require.Equal(t, customer, p.Customer)
	require.True(t, p.Admin)
	require.WithinDuration(t, time.Now().Add(5*time.Minute), p.Expires, 2*time.Second)
}

func TestVerifyUnknownRoleIsNotAdmin(t *testing.T) {
	d := newDev(t)
	v := devVerifier(t, d.JWKS())
	c := devClaims(uuid.NewString())
	c["roles"] = []string{"Admin", "support"}
	p, err := v.Verify(sign(t, jwt.SigningMethodES256, d.Issuer.key, d.Issuer.kid, c))
	require.NoError(t, err)
	require.False(t, p.Admin, `only the exact role "admin" makes an admin`)
}

func TestVerifyUppercaseSubjectIsCanonicalised(t *testing.T) {
	d := newDev(t)
	v := devVerifier(t, d.JWKS())
	customer := uuid.NewString()
	p, err := v.Verify(sign(t, jwt.SigningMethodES256, d.Issuer.key, d.Issuer.kid, devClaims(strings.ToUpper(customer))))
	require.NoError(t, err)
	require.Equal(t, customer, p.Customer)
}

func TestVerifyExpired(t *testing.T) {
	d := newDev(t)
	v := devVerifier(t, d.JWKS())
	issued := time.Now().Add(-2 * time.Hour)
	reason := refused(t, v, issue(t, d.Issuer, TokenRequest{Customer: uuid.NewString(), TTL: time.Minute, Now: issued}))
	require.Contains(t, reason, "expired")
	require.Contains(t, reason, issued.Add(time.Minute).UTC().Format(time.RFC3339), "the reason says when it expired")
}

func TestVerifyLeewayToleratesSkew(t *testing.T) {
	d := newDev(t)
	raw := issue(t, d.Issuer, TokenRequest{Customer: uuid.NewString(), TTL: time.Minute, Now: time.Now().Add(-time.Minute - 10*time.Second)})
	require.Contains(t, refused(t, devVerifier(t, d.JWKS()), raw), "expired")

	v, err := NewVerifier(t.Context(), VerifierConfig{JWKS: d.JWKS(), Issuer: DevIssuer, Audience: DevAudience, Leeway: time.Minute})
	require.NoError(t, err)
	_, err = v.Verify(raw)
	require.NoError(t, err, "10s past exp is within a minute's leeway")
}

func TestVerifyIssuedInTheFuture(t *testing.T) {
	d := newDev(t)
	v := devVerifier(t, d.JWKS())
	future := time.Now().Add(time.Hour)
	raw := issue(t, d.Issuer, TokenRequest{Customer: uuid.NewString(), TTL: 2 * time.Hour, Now: future})

	// golang-jwt reports both nbf and iat for such a token.
	_, err := v.parser.ParseWithClaims(raw, &Claims{}, v.keys.Keyfunc)
	require.ErrorIs(t, err, jwt.ErrTokenNotValidYet)
	require.ErrorIs(t, err, jwt.ErrTokenUsedBeforeIssued)

	// The verifier names nbf, with its time: true for this token.
	reason := refused(t, v, raw)
	require.Contains(t, reason, "not valid before")
	require.Contains(t, reason, future.UTC().Format(time.RFC3339))

	// iat alone in the future is worded as such.
	c := devClaims(uuid.NewString())
	delete(c, "nbf")
	c["iat"] = future.Unix()
	reason = refused(t, v, sign(t, jwt.SigningMethodES256, d.Issuer.key, d.Issuer.kid, c))
	require.Contains(t, reason, "issued in the future")

	// nbf alone in the future.
	c = devClaims(uuid.NewString())
	c["nbf"] = future.Unix()
	reason = refused(t, v, sign(t, jwt.SigningMethodES256, d.Issuer.key, d.Issuer.kid, c))
	require.Contains(t, reason, "not valid before")
}

const wrongKey = "signature does not match any trusted key"

func TestVerifyWrongKey(t *testing.T) {
	d1, d2 := newDev(t), newDev(t)
	v := devVerifier(t, d1.JWKS())
	require.NotEqual(t, d1.Issuer.kid, d2.Issuer.kid)

	// Another issuer's token has a kid the key set does not know: keyfunc
	// fails before any signature is checked.
	raw := issue(t, d2.Issuer, TokenRequest{Customer: uuid.NewString(), TTL: time.Hour})
	_, err := v.parser.ParseWithClaims(raw, &Claims{}, v.keys.Keyfunc)
	require.ErrorIs(t, err, jwt.ErrTokenUnverifiable)
	require.Contains(t, refused(t, v, raw), wrongKey)

	// The trusted kid on a token signed by another key: the signature
	// check itself fails.
	forged := &Issuer{key: d2.Issuer.key, kid: d1.Issuer.kid, issuer: DevIssuer, audience: DevAudience}
	raw = issue(t, forged, TokenRequest{Customer: uuid.NewString(), TTL: time.Hour})
	_, err = v.parser.ParseWithClaims(raw, &Claims{}, v.keys.Keyfunc)
	require.ErrorIs(t, err, jwt.ErrTokenSignatureInvalid)
	require.Contains(t, refused(t, v, raw), wrongKey)

	// No kid: every trusted key is tried.
	raw = sign(t, jwt.SigningMethodES256, d2.Issuer.key, "", devClaims(uuid.NewString()))
	require.Contains(t, refused(t, v, raw), wrongKey)

	// A kid that imitates golang-jwt's wording about signing methods does
	// not make it a signing-method refusal.
	raw = sign(t, jwt.SigningMethodES256, d2.Issuer.key, "signing method ES256 is invalid", devClaims(uuid.NewString()))
	require.Contains(t, refused(t, v, raw), wrongKey)

	// A tampered payload under the right key's signature.
	good := strings.Split(issue(t, d1.Issuer, TokenRequest{Customer: uuid.NewString(), TTL: time.Hour}), ".")
	other := strings.Split(issue(t, d1.Issuer, TokenRequest{Customer: uuid.NewString(), Admin: true, TTL: time.Hour}), ".")
	require.Contains(t, refused(t, v, good[0]+"."+other[1]+"."+good[2]), wrongKey)
}

func TestVerifyNoKidRightKey(t *testing.T) {
	d := newDev(t)
	v := devVerifier(t, d.JWKS())
	customer := uuid.NewString()
	p, err := v.Verify(sign(t, jwt.SigningMethodES256, d.Issuer.key, "", devClaims(customer)))
	require.NoError(t, err)
	require.Equal(t, customer, p.Customer)
}

// writeJWKS writes i's key set to a temp file and returns its path.
func writeJWKS(t *testing.T, i *Issuer) string {
	t.Helper()
	b, err := i.JWKS()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "jwks.json")
	require.NoError(t, os.WriteFile(path, b, 0o600))
	return path
}

func TestVerifyWrongAudience(t *testing.T) {
	d := newDev(t)
	other := NewIssuer(d.Issuer.key, DevIssuer, "billing")
	v := devVerifier(t, writeJWKS(t, other))
	reason := refused(t, v, issue(t, other, TokenRequest{Customer: uuid.NewString(), TTL: time.Hour}))
	require.Contains(t, reason, "audience")
	require.Contains(t, reason, `"billing"`)
	require.Contains(t, reason, `"`+DevAudience+`"`)

	// One of several audiences is enough.
	c := devClaims(uuid.NewString())
	c["aud"] = []string{"billing", DevAudience}
	_, err := v.Verify(sign(t, jwt.SigningMethodES256, d.Issuer.key, d.Issuer.kid, c))
	require.NoError(t, err)
}

func TestVerifyWrongIssuer(t *testing.T) {
	d := newDev(t)
	other := NewIssuer(d.Issuer.key, "someone-else", DevAudience)
	require.Equal(t, d.Issuer.kid, other.kid, "the kid follows the key")
	v := devVerifier(t, writeJWKS(t, other))
	reason := refused(t, v, issue(t, other, TokenRequest{Customer: uuid.NewString(), TTL: time.Hour}))
	require.Contains(t, reason, "issuer")
	require.Contains(t, reason, `"someone-else"`)
	require.Contains(t, reason, `"`+DevIssuer+`"`)
}

// golang-jwt reports a missing exp, aud and iss all as
// ErrTokenRequiredClaimMissing; the reason names the claim that is missing.
func TestVerifyMissingClaims(t *testing.T) {
	d := newDev(t)
	v := devVerifier(t, d.JWKS())
	signed := func(c jwt.MapClaims) string {
		raw := sign(t, jwt.SigningMethodES256, d.Issuer.key, d.Issuer.kid, c)
		_, err := v.parser.ParseWithClaims(raw, &Claims{}, v.keys.Keyfunc)
		require.ErrorIs(t, err, jwt.ErrTokenRequiredClaimMissing)
		return raw
	}

	for _, aud := range []any{nil, "", []string{}, []string{""}} {
		c := devClaims(uuid.NewString())
		if aud == nil {
			delete(c, "aud")
		} else {
			c["aud"] = aud
		}
		reason := refused(t, v, signed(c))
		require.Contains(t, reason, "no audience (aud)", "aud %#v", aud)
		require.Contains(t, reason, `"`+DevAudience+`"`)
		require.NotContains(t, reason, "expiry")
	}

	c := devClaims(uuid.NewString())
	delete(c, "iss")
	reason := refused(t, v, signed(c))
	require.Contains(t, reason, "no issuer (iss)")
	require.Contains(t, reason, `"`+DevIssuer+`"`)
	require.NotContains(t, reason, "expiry")

	// exp is named first when several are missing.
	c = devClaims(uuid.NewString())
	delete(c, "iss")
	delete(c, "aud")
	delete(c, "exp")
	require.Contains(t, refused(t, v, signed(c)), "no expiry")
}

func TestVerifyMalformed(t *testing.T) {
	v := devVerifier(t, newDev(t).JWKS())
	for _, raw := range []string{"abc", "a.b.c", "", "a.b", "a.b.c.d", "Bearer x.y.z", "e30.e30"} {
		require.Contains(t, refused(t, v, raw), "malformed", "token %q", raw)
	}
}

func TestVerifyRefusesOtherSigningMethods(t *testing.T) {
	d := newDev(t)
	v := devVerifier(t, d.JWKS())
	c := devClaims(uuid.NewString())

	hs := sign(t, jwt.SigningMethodHS256, []byte("any secret at all"), d.Issuer.kid, c)
	reason := refused(t, v, hs)
	require.Contains(t, reason, "signing method")
	require.Contains(t, reason, `"HS256"`)
	require.Contains(t, reason, "RS256 or ES256")

	none := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, d.Issuer.kid, c)
	reason = refused(t, v, none)
	require.Contains(t, reason, "signing method")
	require.Contains(t, reason, `"none"`)

	// A known alg outside the accepted ones, and one golang-jwt does not know.
	es384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	require.Contains(t, refused(t, v, sign(t, jwt.SigningMethodES384, es384, "", c)), `signing method "ES384"`)
	require.Contains(t, refused(t, v, withHeader(t, hs, map[string]any{"alg": "XY999", "typ": "JWT"})), `signing method "XY999"`)
	require.Contains(t, refused(t, v, withHeader(t, hs, map[string]any{"typ": "JWT"})), "names no signing method")
}

// withHeader replaces raw's header.
func withHeader(t *testing.T, raw string, header map[string]any) string {
	t.Helper()
	b, err := json.Marshal(header)
	require.NoError(t, err)
	parts := strings.Split(raw, ".")
	parts[0] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

func TestVerifyRequiresExpiry(t *testing.T) {
	d := newDev(t)
	v := devVerifier(t, d.JWKS())
	c := devClaims(uuid.NewString())
	delete(c, "exp")
	reason := refused(t, v, sign(t, jwt.SigningMethodES256, d.Issuer.key, d.Issuer.kid, c))
	require.Contains(t, reason, "no expiry")
}

// The key in the directory's PEM file is what signs: a token signed with
// it by hand, without the Issuer, verifies, and without exp is refused.
func TestVerifyRequiresExpiryKeyFromFile(t *testing.T) {
	d := newDev(t)
	opened, err := OpenDev(d.Dir)
	require.NoError(t, err)
	v := devVerifier(t, d.JWKS())

	c := devClaims(uuid.NewString())
	_, err = v.Verify(sign(t, jwt.SigningMethodES256, opened.Issuer.key, opened.Issuer.kid, c))
	require.NoError(t, err)

	delete(c, "exp")
	require.Contains(t, refused(t, v, sign(t, jwt.SigningMethodES256, opened.Issuer.key, opened.Issuer.kid, c)), "no expiry")
}

func TestVerifySubjectMustBeUUID(t *testing.T) {
	d := newDev(t)
	v := devVerifier(t, d.JWKS())
	id := uuid.New()
	for _, sub := range []string{
		"alice",
		"",
		strings.ReplaceAll(id.String(), "-", ""), // uuid.Parse takes it; not canonical
		"urn:uuid:" + id.String(),
		"{" + id.String() + "}",
		strings.Repeat("x", 500),
	} {
		reason := refused(t, v, sign(t, jwt.SigningMethodES256, d.Issuer.key, d.Issuer.kid, devClaims(sub)))
		require.Contains(t, reason, "subject (sub)", "sub %q", sub)
		require.Contains(t, reason, "UUID")
		require.Less(t, len(reason), 200, "a long subject is truncated")
	}
}

func TestTruncateKeepsRunes(t *testing.T) {
	require.Equal(t, "abc", truncate("abc", 3))
	require.Equal(t, "ab…", truncate("abcd", 2))
	s := truncate("aé", 2) // é is two bytes: cutting at 2 would split it
	require.Equal(t, "a…", s)
}

// rsaJWKS is a key set with the dev key and an RSA key of kid "rsa-1".
func rsaJWKS(t *testing.T, d *Dev, key *rsa.PrivateKey) []byte {
	t.Helper()
	var set jwkset.JWKSMarshal
	require.NoError(t, json.Unmarshal(mustJWKS(t, d.Issuer), &set))
	jwk, err := jwkset.NewJWKFromKey(&key.PublicKey, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{
		ALG: jwkset.AlgRS256, KID: "rsa-1", USE: jwkset.UseSig,
	}})
	require.NoError(t, err)
	set.Keys = append(set.Keys, jwk.Marshal())
	b, err := json.Marshal(set)
	require.NoError(t, err)
	return b
}

func mustJWKS(t *testing.T, i *Issuer) []byte {
	t.Helper()
	b, err := i.JWKS()
	require.NoError(t, err)
	return b
}

func TestVerifyRS256(t *testing.T) {
	d := newDev(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "jwks.json")
	require.NoError(t, os.WriteFile(path, rsaJWKS(t, d, key), 0o600))
	v := devVerifier(t, path)

	customer := uuid.NewString()
	c := devClaims(customer)
	c["roles"] = []string{"admin"}
	p, err := v.Verify(sign(t, jwt.SigningMethodRS256, key, "rsa-1", c))
	require.NoError(t, err)
	require.Equal(t, customer, p.Customer)
	require.True(t, p.Admin)

	// The ES256 key of the same set still verifies.
	_, err = v.Verify(issue(t, d.Issuer, TokenRequest{Customer: customer, TTL: time.Hour}))
	require.NoError(t, err)

	// RS256 with the ES256 key's kid does not verify.
	require.Contains(t, refused(t, v, sign(t, jwt.SigningMethodRS256, key, d.Issuer.kid, c)), wrongKey)
	// Nor RS384, not accepted although the key is RSA.
	require.Contains(t, refused(t, v, sign(t, jwt.SigningMethodRS384, key, "rsa-1", c)), `signing method "RS384"`)
}

func TestVerifierJWKSOverHTTP(t *testing.T) {
	d := newDev(t)
	set := mustJWKS(t, d.Issuer)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(set)
	}))
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel) // ends keyfunc's refresh goroutine
	v, err := NewVerifier(ctx, VerifierConfig{JWKS: srv.URL + "/.well-known/jwks.json", Issuer: DevIssuer, Audience: DevAudience})
	require.NoError(t, err)

	customer := uuid.NewString()
	p, err := v.Verify(issue(t, d.Issuer, TokenRequest{Customer: customer, TTL: time.Hour}))
	require.NoError(t, err)
	require.Equal(t, customer, p.Customer)

	require.Contains(t, refused(t, v, issue(t, newDev(t).Issuer, TokenRequest{Customer: customer, TTL: time.Hour})), wrongKey)
}

func TestNewVerifierBadKeySet(t *testing.T) {
	dir := t.TempDir()
	cfg := func(path string) VerifierConfig {
		return VerifierConfig{JWKS: path, Issuer: DevIssuer, Audience: DevAudience}
	}

	missing := filepath.Join(dir, "no-such-jwks.json")
	_, err := NewVerifier(t.Context(), cfg(missing))
	require.Error(t, err)
	require.Contains(t, err.Error(), missing)
	require.ErrorIs(t, err, os.ErrNotExist)

	garbage := filepath.Join(dir, "garbage.json")
	require.NoError(t, os.WriteFile(garbage, []byte("-----BEGIN PUBLIC KEY-----\n"), 0o600))
	_, err = NewVerifier(t.Context(), cfg(garbage))
	require.Error(t, err)
	require.Contains(t, err.Error(), garbage)
	require.Contains(t, err.Error(), "not JSON")

	notSet := filepath.Join(dir, "array.json")
	require.NoError(t, os.WriteFile(notSet, []byte(`[1, 2]`), 0o600))
	_, err = NewVerifier(t.Context(), cfg(notSet))
	require.Error(t, err)
	require.Contains(t, err.Error(), notSet)

	empty := filepath.Join(dir, "empty.json")
	require.NoError(t, os.WriteFile(empty, []byte(`{"keys": []}`), 0o600))
	_, err = NewVerifier(t.Context(), cfg(empty))
	require.Error(t, err)
	require.Contains(t, err.Error(), empty)
	require.Contains(t, err.Error(), "no keys")
}

func TestNewVerifierNeedsConfig(t *testing.T) {
	jwks := newDev(t).JWKS()
	for _, c := range []VerifierConfig{
		{Issuer: DevIssuer, Audience: DevAudience},
		{JWKS: jwks, Audience: DevAudience},
		{JWKS: jwks, Issuer: DevIssuer},
	} {
		_, err := NewVerifier(t.Context(), c)
		require.Error(t, err, "%+v", c)
	}
}
