// Command token prints a customer token signed by the development issuer
// that `make run` sets up (its key pair and service token live in
// .data/auth/; the gateway trusts the key set there):
//
//	token -customer <uuid> [-admin] [-ttl 1h] [-dir .data/auth] [-issuer orderflow-dev] [-audience orderflow]
//	token -service [-dir .data/auth]     the internal services' shared token
//	token -init [-dir .data/auth]        create the directory if it is missing
//
// The token alone goes to stdout, so that
//
//	curl -H "Authorization: Bearer $(bin/token -customer $ID)" …
//
// works. Without -customer, a new random customer id is used and printed
// to stderr.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/google/uuid"

	"github.com/orderflow/orderflow/platform/auth"
)

func main() {
	customer := flag.String("customer", "", "the customer id (a UUID) the token speaks for; random if empty")
	admin := flag.Bool("admin", false, "give the token the admin role (may read any order)")
	ttl := flag.Duration("ttl", time.Hour, "how long the token is valid")
	dir := flag.String("dir", auth.DefaultDir, "the development auth directory")
	issuer := flag.String("issuer", auth.DevIssuer, "the token's issuer (iss)")
	audience := flag.String("audience", auth.DevAudience, "the token's audience (aud)")
	service := flag.Bool("service", false, "print the internal services' shared token instead")
	initOnly := flag.Bool("init", false, "only create the auth directory if it is missing, and print nothing")
	flag.Parse()
	if flag.NArg() > 0 {
		fail(fmt.Errorf("unexpected argument %q; see -help", flag.Arg(0)))
	}

	dev, err := auth.EnsureDev(*dir)
	if err != nil {
		fail(err)
	}
	switch {
	case *initOnly:
		return
	case *service:
		fmt.Println(dev.ServiceToken)
		return
	}
	if *customer == "" {
		*customer = uuid.NewString()
		fmt.Fprintln(os.Stderr, "customer", *customer)
	}
	token, err := dev.Issuer.WithNames(*issuer, *audience).Token(auth.TokenRequest{Customer: *customer, Admin: *admin, TTL: *ttl})
	if err != nil {
		fail(err)
	}
	fmt.Println(token)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "token:", err)
	os.Exit(2)
}
