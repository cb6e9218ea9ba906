package main

import (
	"fmt"
	"os/user"
	"time"

	"github.com/google/uuid"

	"github.com/orderflow/orderflow/platform/auth"
)

// signedTokenTTL is how long a token orderflowctl signs itself is valid:
// one command's worth.
const signedTokenTTL = 5 * time.Minute

// operatorSpace is the namespace of the subjects derived from OS users.
var operatorSpace = uuid.MustParse("5e0b3c2a-8f1d-4c6e-9a7b-0d2f4e6a8c10")

// adminToken is -token or ORDERFLOW_TOKEN, or else an admin token signed
// with the development issuer in -auth-dir, as `bin/token -admin` signs
// one. The directory is opened, not created: a new issuer would sign
// tokens the gateway does not trust.
func (g *globals) adminToken() (string, error) {
	if g.token != "" {
		return g.token, nil
	}
	dev, err := auth.OpenDev(g.authDir)
	if err != nil {
		return "", fmt.Errorf("no token: pass -token or set ORDERFLOW_TOKEN to an admin's token, "+
			"or run from the repository root of a `make run` deployment (or pass -auth-dir): %w", err)
	}
	subject := g.subject
	if subject == "" {
		subject = operatorSubject()
	}
	token, err := dev.Issuer.Token(auth.TokenRequest{Customer: subject, Admin: true, TTL: signedTokenTTL})
	if err != nil {
		return "", usagef("-subject: %v", err)
	}
	return token, nil
}

// operatorSubject derives a subject from the OS user, so that the audit
// trail tells operators apart and shows the same one the same way.
func operatorSubject() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return uuid.NewSHA1(operatorSpace, []byte(name)).String()
}
