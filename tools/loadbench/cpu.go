package loadbench

import (
	"slices"
	"strings"

	"github.com/orderflow/orderflow/tools/measure"
)

// services are the process names of orderflow's binaries (bin/…).
var services = []string{"gateway", "order", "payment", "paymentgateway", "compensation"}

// classify counts CPU by process: the load generator, each service, the
// Postgres backends of each service's database (and the server's own
// processes apart), Kafka, Redis and NATS.
func classify(p measure.Process) string {
	switch {
	case p.Self:
		return "loadbench"
	case slices.Contains(services, p.Comm):
		return p.Comm
	case measure.IsPostgres(p):
		// A backend's title is "postgres: user database client state".
		fields := strings.Fields(strings.ReplaceAll(p.Cmdline(), "\x00", " "))
		switch {
		case len(fields) < 3 || fields[0] != "postgres:":
		case strings.HasPrefix(fields[2], "orderflow_"):
			return "postgres:" + strings.TrimPrefix(fields[2], "orderflow_")
		case strings.HasPrefix(fields[2], "loadbench_"):
			return "postgres:ceiling" // the ceiling's scratch database
		}
		return "postgres:other" // its own processes (WAL writer, checkpointer…) and other databases
	case measure.IsKafka(p):
		return "kafka"
	case p.Comm == "redis-server":
		return "redis"
	case p.Comm == "nats-server":
		return "nats"
	}
	return ""
}
