// Package adapters connects the payment use cases to what lies outside the
// process: the card processor over HTTP, through the payment gateway's Go
// client, and the payment streams in the Postgres event store.
package adapters
