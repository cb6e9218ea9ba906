package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// FindRepoRoot returns the directory holding go.work.
func FindRepoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot locate testenv's source")
	}
	for dir := filepath.Dir(file); ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("go.work not found above %s", file)
		}
	}
}

// RepoRoot is FindRepoRoot for a test.
func RepoRoot(t testing.TB) string {
	t.Helper()
	root, err := FindRepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// Infra runs `scripts/infra.sh args...` and fails the test if it fails.
// Tests use it to take a server away (`stop kafka`) and bring it back (`up`).
func Infra(t testing.TB, args ...string) string {
	t.Helper()
	NoInheritedDescriptors() // a server it restarts must not keep a lock the test inherited
	cmd := exec.Command("bash", append([]string{filepath.Join(RepoRoot(t), "scripts", "infra.sh")}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("infra.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// StopServer stops one local server (kafka, nats, redis, postgres); `Infra(t,
// "up")` starts it again. It fails the test if the server was not started by
// scripts/infra.sh, since then it cannot be stopped from here.
func StopServer(t testing.TB, name string) {
	t.Helper()
	out := Infra(t, "stop", name)
	if !strings.Contains(out, name+": stopped") {
		t.Fatalf("could not stop %s (this test needs it started by scripts/infra.sh):\n%s", name, out)
	}
}

// StopKafka stops the local Kafka broker.
func StopKafka(t testing.TB) { t.Helper(); StopServer(t, "kafka") }
