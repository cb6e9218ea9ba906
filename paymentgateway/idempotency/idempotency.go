// Package idempotency holds the rules that make a retried request safe, the
// way card processors do it: a request carries a key; the first answer given
// under that key is recorded and replayed verbatim to every retry, so a caller
// that timed out can ask again without ever being charged twice. A key sent
// again with a different request is refused rather than guessed at.
package idempotency

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"unicode"
)

// MaxKeyLen is the longest key accepted (Stripe's limit too).
const MaxKeyLen = 255

// Header is the HTTP header that carries the key.
const Header = "Idempotency-Key"

// Request identifies one idempotent request. Keys are scoped by endpoint, so
// a charge and a refund may use the same key.
type Request struct {
	Endpoint    string
	Key         string
	Fingerprint []byte
}

// NewRequest fingerprints params (the decoded request body) so that a retry
// can be told apart from a different request reusing the key. Fingerprinting
// the decoded value, not the raw bytes, ignores spacing and field order.
func NewRequest(endpoint, key string, params any) (Request, error) {
	b, err := json.Marshal(params)
	if err != nil {
		return Request{}, fmt.Errorf("fingerprint: %w", err)
	}
	sum := sha256.Sum256(b)
	return Request{Endpoint: endpoint, Key: key, Fingerprint: sum[:]}, nil
}

// ValidateKey says what is wrong with a key, or returns nil.
func ValidateKey(key string) error {
	switch {
	case key == "":
		return errors.New("the Idempotency-Key header is required: send a unique value (e.g. a UUID) per logical request and reuse it on retries")
	case len(key) > MaxKeyLen:
		return fmt.Errorf("the Idempotency-Key header must be at most %d characters", MaxKeyLen)
	}
	for _, r := range key {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) {
			return errors.New("the Idempotency-Key header must be printable ASCII")
		}
	}
	return nil
}

// Reply is an answer exactly as it was sent: status code and body bytes.
type Reply struct {
	Status int
	Body   []byte
}

// Storable reports whether the reply may be recorded under its key. Server
// failures (5xx) are not: the caller is expected to retry, and the retry must
// get a fresh attempt rather than the failure again.
func (r Reply) Storable() bool { return r.Status < 500 }

// Record is the reply recorded under a key and the fingerprint of the request
// that produced it. Replayed is true when the reply was not produced by this
// call but found (recorded earlier, or by a concurrent request that won).
type Record struct {
	Fingerprint []byte
	Reply       Reply
	Replayed    bool
}

// Matches reports whether req is a retry of the recorded request rather than
// a different request reusing its key.
func (r Record) Matches(req Request) bool {
	return bytes.Equal(r.Fingerprint, req.Fingerprint)
}
