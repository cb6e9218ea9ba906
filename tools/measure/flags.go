package measure

import (
	"cmp"
	"flag"
	"os"
)

// ServerFlags registers the flags every benchmark shares on fs: -pg, a
// role that may create databases, and -brokers, Kafka's bootstrap servers.
// $PG_ADMIN_DSN and $KAFKA_BROKERS set their defaults, else the servers
// scripts/infra.sh starts.
func ServerFlags(fs *flag.FlagSet) (adminDSN, brokers *string) {
	adminDSN = fs.String("pg", cmp.Or(os.Getenv("PG_ADMIN_DSN"), "postgres://orderflow:orderflow@127.0.0.1:5432/postgres?sslmode=disable"),
		"DSN of a role that may create databases (default $PG_ADMIN_DSN or the local one)")
	brokers = fs.String("brokers", cmp.Or(os.Getenv("KAFKA_BROKERS"), "127.0.0.1:9092"),
		"Kafka bootstrap servers (default $KAFKA_BROKERS or the local one)")
	return adminDSN, brokers
}
