// Package postgres keeps compensation sagas in Postgres: each order's saga
// as an event stream in the shared event store, and the payment deadlines
// of active sagas in a table of their own, written in the same transaction
// as the events, so that the poller finds every deadline that can still
// fire without replaying streams.
package postgres

import (
	"embed"

	"github.com/orderflow/orderflow/platform/pgmigrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the compensation service's own tables.
func Migrations() pgmigrate.Set {
	return pgmigrate.Set{Name: "compensation", FS: migrations, Dir: "migrations"}
}
