package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

func TestEnsureDevCreatesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "auth")
	d, err := EnsureDev(dir)
	require.NoError(t, err)
	require.Equal(t, dir, d.Dir)
	require.Equal(t, filepath.Join(dir, JWKSFile), d.JWKS())
	require.NoError(t, CheckServiceToken(d.ServiceToken))

	for _, f := range []string{signingKeyFile, ServiceTokenFile, JWKSFile} {
		st, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err, f)
		require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), f)
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 3, "no temporary files are left behind")

	// The key set holds exactly the public key, under the tokens' kid.
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(readFile(t, d.JWKS()), &set))
	require.Len(t, set.Keys, 1)
	k := set.Keys[0]
	require.Equal(t, "EC", k["kty"])
	require.Equal(t, "P-256", k["crv"])
	require.Equal(t, "ES256", k["alg"])
	require.Equal(t, "sig", k["use"])
	require.Equal(t, d.Issuer.kid, k["kid"])
	require.NotContains(t, k, "d", "the key set must not hold the private key")

	raw := issue(t, d.Issuer, TokenRequest{Customer: uuid.NewString(), TTL: time.Hour})
	tok, _, err := jwt.NewParser().ParseUnverified(raw, &Claims{})
	require.NoError(t, err)
	require.Equal(t, "ES256", tok.Header["alg"])
	require.Equal(t, d.Issuer.kid, tok.Header["kid"])
}

func TestEnsureDevTwiceKeepsKeyAndServiceToken(t *testing.T) {
	dir := t.TempDir()
	first, err := EnsureDev(dir)
	require.NoError(t, err)
	keyPEM, jwks := readFile(t, filepath.Join(dir, signingKeyFile)), readFile(t, first.JWKS())
	customer := uuid.NewString()
	raw := issue(t, first.Issuer, TokenRequest{Customer: customer, TTL: time.Hour})

	second, err := EnsureDev(dir)
	require.NoError(t, err)
	require.Equal(t, first.ServiceToken, second.ServiceToken)
	require.Equal(t, keyPEM, readFile(t, filepath.Join(dir, signingKeyFile)))
	require.Equal(t, jwks, readFile(t, second.JWKS()))
	p, err := devVerifier(t, second.JWKS()).Verify(raw)
	require.NoError(t, err, "a token from before still verifies")
	require.Equal(t, customer, p.Customer)

	// A lost key set is written again for the same key.
	require.NoError(t, os.Remove(second.JWKS()))
	third, err := EnsureDev(dir)
	require.NoError(t, err)
	_, err = devVerifier(t, third.JWKS()).Verify(raw)
	require.NoError(t, err)

	// A lost service token is made anew, the key kept.
	require.NoError(t, os.Remove(filepath.Join(dir, ServiceTokenFile)))
	fourth, err := EnsureDev(dir)
	require.NoError(t, err)
	require.NotEqual(t, first.ServiceToken, fourth.ServiceToken)
	require.NoError(t, CheckServiceToken(fourth.ServiceToken))
	_, err = devVerifier(t, fourth.JWKS()).Verify(raw)
	require.NoError(t, err)
}

func TestEnsureDevNewKeyReplacesKeySet(t *testing.T) {
	dir := t.TempDir()
	first, err := EnsureDev(dir)
	require.NoError(t, err)
	raw := issue(t, first.Issuer, TokenRequest{Customer: uuid.NewString(), TTL: time.Hour})

	require.NoError(t, os.Remove(filepath.Join(dir, signingKeyFile)))
	second, err := EnsureDev(dir)
	require.NoError(t, err)
	require.NotEqual(t, first.Issuer.kid, second.Issuer.kid)
	require.Equal(t, first.ServiceToken, second.ServiceToken)

	// The old key set went with the old key.
	v := devVerifier(t, second.JWKS())
	require.Contains(t, refused(t, v, raw), wrongKey)
	_, err = v.Verify(issue(t, second.Issuer, TokenRequest{Customer: uuid.NewString(), TTL: time.Hour}))
	require.NoError(t, err)
}

func TestOpenDev(t *testing.T) {
	empty := t.TempDir()
	_, err := OpenDev(empty)
	require.Error(t, err)
	require.Contains(t, err.Error(), "make run")
	require.Contains(t, err.Error(), empty)

	d := newDev(t)
	opened, err := OpenDev(d.Dir)
	require.NoError(t, err)
	require.Equal(t, d.ServiceToken, opened.ServiceToken)
	require.Equal(t, d.Issuer.kid, opened.Issuer.kid)
	require.True(t, d.Issuer.key.Equal(opened.Issuer.key))
	require.Equal(t, DevIssuer, opened.Issuer.issuer)
	require.Equal(t, DevAudience, opened.Issuer.audience)
}

func TestOpenDevBadFiles(t *testing.T) {
	write := func(t *testing.T, dir, name string, b []byte) {
		t.Helper()
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o600))
	}
	pkcs8 := func(t *testing.T, key any) []byte {
		t.Helper()
		der, err := x509.MarshalPKCS8PrivateKey(key)
		require.NoError(t, err)
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}

	t.Run("not PEM", func(t *testing.T) {
		d := newDev(t)
		write(t, d.Dir, signingKeyFile, []byte("not a key"))
		_, err := OpenDev(d.Dir)
		require.ErrorContains(t, err, "not a PEM file")
	})
	t.Run("P-384", func(t *testing.T) {
		d := newDev(t)
		key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		require.NoError(t, err)
		write(t, d.Dir, signingKeyFile, pkcs8(t, key))
		_, err = OpenDev(d.Dir)
		require.ErrorContains(t, err, "P-256")
	})
	t.Run("short service token", func(t *testing.T) {
		d := newDev(t)
		write(t, d.Dir, ServiceTokenFile, []byte("short\n"))
		_, err := OpenDev(d.Dir)
		require.ErrorContains(t, err, "at least")
		require.ErrorContains(t, err, ServiceTokenFile)
	})
	t.Run("no service token", func(t *testing.T) {
		d := newDev(t)
		require.NoError(t, os.Remove(filepath.Join(d.Dir, ServiceTokenFile)))
		_, err := OpenDev(d.Dir)
		require.ErrorIs(t, err, os.ErrNotExist)
	})
}

func TestIssuerTokenRefusesBadRequests(t *testing.T) {
	i := newDev(t).Issuer
	for _, c := range []string{"", "alice", "42", strings.ReplaceAll(uuid.NewString(), "-", ""), "urn:uuid:" + uuid.NewString()} {
		raw, err := i.Token(TokenRequest{Customer: c, TTL: time.Hour})
		require.Error(t, err, "customer %q", c)
		require.Empty(t, raw)
		require.Contains(t, err.Error(), "UUID")
	}
	for _, ttl := range []time.Duration{0, -time.Second} {
		raw, err := i.Token(TokenRequest{Customer: uuid.NewString(), TTL: ttl})
		require.Error(t, err, "ttl %s", ttl)
		require.Empty(t, raw)
		require.Contains(t, err.Error(), "lifetime must be positive")
	}
}

func TestIssuerTokenClaims(t *testing.T) {
	i := newDev(t).Issuer
	customer := uuid.NewString()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

	var c Claims
	_, _, err := jwt.NewParser().ParseUnverified(issue(t, i, TokenRequest{Customer: customer, TTL: 90 * time.Minute, Now: now}), &c)
	require.NoError(t, err)
	require.Equal(t, DevIssuer, c.Issuer)
	require.Equal(t, customer, c.Subject)
	require.Equal(t, jwt.ClaimStrings{DevAudience}, c.Audience)
	require.True(t, c.IssuedAt.Equal(now))
	require.True(t, c.NotBefore.Equal(now))
	require.True(t, c.ExpiresAt.Equal(now.Add(90*time.Minute)))
	require.NoError(t, uuid.Validate(c.ID))
	require.Empty(t, c.Roles)

	var admin Claims
	_, _, err = jwt.NewParser().ParseUnverified(issue(t, i, TokenRequest{Customer: customer, Admin: true, TTL: time.Hour, Now: now}), &admin)
	require.NoError(t, err)
	require.Equal(t, []string{RoleAdmin}, admin.Roles)
	require.NotEqual(t, c.ID, admin.ID, "each token has its own jti")
}
