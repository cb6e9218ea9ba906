package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// The development issuer's names: what `make run`'s gateway trusts and
// the token tool signs with.
const (
	DevIssuer   = "orderflow-dev"
	DevAudience = "orderflow"
	DefaultDir  = ".data/auth"
)

// Files of a development auth directory.
const (
	signingKeyFile   = "signing-key.pem"
	JWKSFile         = "jwks.json"
	ServiceTokenFile = "service-token"
)

// Issuer signs customer tokens with an ES256 key.
type Issuer struct {
	key      *ecdsa.PrivateKey
	kid      string
	issuer   string
	audience string
}

// TokenRequest is what a token says.
type TokenRequest struct {
	Customer string
	Admin    bool
	TTL      time.Duration
	// Now is when the token is issued; zero means now.
	Now time.Time
}

// Token signs a token for r.
func (i *Issuer) Token(r TokenRequest) (string, error) {
	if _, err := uuid.Parse(r.Customer); err != nil || len(r.Customer) != 36 {
		return "", fmt.Errorf("the customer must be a UUID, got %q", r.Customer)
	}
	if r.TTL <= 0 {
		return "", fmt.Errorf("the lifetime must be positive, got %s", r.TTL)
	}
	now := r.Now
	if now.IsZero() {
		now = time.Now()
	}
	claims := Claims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer:    i.issuer,
		Subject:   r.Customer,
		Audience:  jwt.ClaimStrings{i.audience},
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(r.TTL)),
		ID:        uuid.NewString(),
	}}
	if r.Admin {
		claims.Roles = []string{RoleAdmin}
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	t.Header["kid"] = i.kid
	return t.SignedString(i.key)
}

// Dev is a development auth directory: the issuer's key pair (the public
// half as a JWKS the gateway trusts) and the shared service token.
type Dev struct {
	Dir          string
	Issuer       *Issuer
	ServiceToken string
}

// JWKS is the path of the directory's key set.
func (d *Dev) JWKS() string { return filepath.Join(d.Dir, JWKSFile) }

// EnsureDev opens the development auth directory dir, creating what is
// missing: an ES256 key pair and a service token. Existing files are kept,
// so tokens issued earlier stay valid.
func EnsureDev(dir string) (*Dev, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	keyPath := filepath.Join(dir, signingKeyFile)
	if _, err := os.Stat(keyPath); errors.Is(err, os.ErrNotExist) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, err
		}
		if err := writeNew(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
			return nil, err
		}
		_ = os.Remove(filepath.Join(dir, JWKSFile)) // of an older key
	}
	tokenPath := filepath.Join(dir, ServiceTokenFile)
	if _, err := os.Stat(tokenPath); errors.Is(err, os.ErrNotExist) {
		if err := writeNew(tokenPath, []byte(NewServiceToken()+"\n")); err != nil {
			return nil, err
		}
	}
	d, err := OpenDev(dir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(d.JWKS()); errors.Is(err, os.ErrNotExist) {
		b, err := d.Issuer.JWKS()
		if err != nil {
			return nil, err
		}
		if err := writeNew(d.JWKS(), b); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// OpenDev opens a development auth directory that EnsureDev created.
func OpenDev(dir string) (*Dev, error) {
	pemBytes, err := os.ReadFile(filepath.Join(dir, signingKeyFile))
	if err != nil {
		return nil, fmt.Errorf("no development issuer in %s (make run creates it): %w", dir, err)
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, fmt.Errorf("%s is not a PEM file", filepath.Join(dir, signingKeyFile))
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", signingKeyFile, err)
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%s must hold a P-256 ECDSA key", signingKeyFile)
	}
	token, err := ReadServiceToken(filepath.Join(dir, ServiceTokenFile))
	if err != nil {
		return nil, err
	}
	return &Dev{Dir: dir, Issuer: NewIssuer(key, DevIssuer, DevAudience), ServiceToken: token}, nil
}

// NewIssuer returns an issuer that signs with key; the key id is derived
// from the public key, so the JWKS and the tokens agree.
func NewIssuer(key *ecdsa.PrivateKey, issuer, audience string) *Issuer {
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey) // a P-256 key always marshals
	sum := sha256Sum(der)
	return &Issuer{key: key, kid: base64.RawURLEncoding.EncodeToString(sum[:12]), issuer: issuer, audience: audience}
}

// WithNames returns an issuer signing with the same key under another
// issuer and audience name (for tokens a gateway must refuse).
func (i *Issuer) WithNames(issuer, audience string) *Issuer {
	c := *i
	c.issuer, c.audience = issuer, audience
	return &c
}

// JWKS is the issuer's public key as a JSON Web Key Set.
func (i *Issuer) JWKS() ([]byte, error) {
	jwk, err := jwkset.NewJWKFromKey(&i.key.PublicKey, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{
		ALG: jwkset.AlgES256, KID: i.kid, USE: jwkset.UseSig,
	}})
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{jwk.Marshal()}}, "", "  ")
}

func writeNew(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
