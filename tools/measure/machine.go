package measure

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5"
)

// Machine is what the figures depend on besides the code.
type Machine struct {
	CPUs                     int
	CPUModel, Memory, Kernel string
	Go, Postgres, Librdkafka string
	PostgresSettings         string // the durability settings the figures assume
}

// DescribeMachine returns this machine's description, asking the Postgres
// behind admin for its version and durability settings.
func DescribeMachine(ctx context.Context, admin *pgx.Conn) (Machine, error) {
	m := Machine{
		CPUs:     runtime.NumCPU(),
		CPUModel: procField("/proc/cpuinfo", "model name"),
		Kernel:   strings.TrimSpace(readFile("/proc/sys/kernel/osrelease")),
		Go:       runtime.Version(),
	}
	if kb, err := strconv.Atoi(strings.TrimSuffix(procField("/proc/meminfo", "MemTotal"), " kB")); err == nil {
		m.Memory = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
	}
	_, m.Librdkafka = kafka.LibraryVersion()
	err := admin.QueryRow(ctx, `SELECT split_part(current_setting('server_version'), ' ', 1),
		string_agg(name || '=' || current_setting(name), ', ' ORDER BY ord)
		FROM unnest('{fsync,synchronous_commit,wal_sync_method,commit_delay,shared_buffers}'::text[]) WITH ORDINALITY AS s(name, ord)`).
		Scan(&m.Postgres, &m.PostgresSettings)
	if err != nil {
		return m, fmt.Errorf("postgres settings: %w", err)
	}
	return m, nil
}

func readFile(path string) string {
	b, _ := os.ReadFile(path) // "" on a system without /proc
	return string(b)
}

// procField returns the value of the first "name : value" line of a /proc
// file, or "".
func procField(path, name string) string {
	for line := range strings.Lines(readFile(path)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
