package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// MinServiceTokenLength is the shortest service token accepted.
const MinServiceTokenLength = 16

// NewServiceToken returns a random service token (32 bytes, base64url).
func NewServiceToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// ReadServiceToken reads a token from a file (trailing whitespace trimmed).
func ReadServiceToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read service token: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if err := CheckServiceToken(t); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// CheckServiceToken reports a token too short to be a secret.
func CheckServiceToken(token string) error {
	if len(token) < MinServiceTokenLength {
		return fmt.Errorf("the service token must be at least %d characters (make run generates one in %s/%s)",
			MinServiceTokenLength, DefaultDir, ServiceTokenFile)
	}
	return nil
}

// BearerToken returns the token of an "Authorization: Bearer …" header
// value, and whether there was one. The scheme is case-insensitive.
func BearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// RequireServiceToken serves next only to requests that carry the service
// token as a bearer token; the paths in open (health checks) need none.
// Others get 401 with a JSON error of code UNAUTHENTICATED.
func RequireServiceToken(token string, next http.Handler, open ...string) http.Handler {
	want := sha256Sum([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range open {
			if r.URL.Path == p {
				next.ServeHTTP(w, r)
				return
			}
		}
		got, ok := BearerToken(r.Header.Get("Authorization"))
		if !ok {
			refuse(w, "this internal API needs the service token: send Authorization: Bearer <service token>")
			return
		}
		// Comparing digests keeps the comparison constant-time whatever
		// the lengths.
		if sum := sha256Sum([]byte(got)); subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			refuse(w, "the service token is wrong")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func refuse(w http.ResponseWriter, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("WWW-Authenticate", `Bearer realm="orderflow-internal"`)
	w.WriteHeader(http.StatusUnauthorized)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": "UNAUTHENTICATED", "message": message}})
}

// ServiceTransport returns a RoundTripper that adds the service token to
// every request it sends through base (http.DefaultTransport if nil).
func ServiceTransport(token string, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return serviceTransport{token: "Bearer " + token, base: base}
}

type serviceTransport struct {
	token string
	base  http.RoundTripper
}

func (t serviceTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context()) // a RoundTripper must not change its request
	r.Header.Set("Authorization", t.token)
	return t.base.RoundTrip(r)
}

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }
