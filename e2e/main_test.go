// Package e2e_test runs the whole saga with every service as a real process
// on the real Kafka, Postgres and PSP simulator, and checks the invariants
// from the stores after each scenario.
package e2e_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/orderflow/orderflow/e2e/harness"
)

// binDir holds the service binaries built by TestMain.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "orderflow-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := harness.Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
