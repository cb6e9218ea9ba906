// Package harness runs the real orderflow processes for end-to-end tests: it
// builds the service binaries once, starts each one as its own OS process on
// free ports against fresh databases and a topic prefix of its own, and lets
// a test stop, SIGKILL and restart any of them.
package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Services, in start order.
var Services = []string{"paymentgateway", "order", "payment", "compensation"}

// Build compiles every service binary into dir. Call it once from TestMain.
func Build(dir string) error {
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	args := []string{"build", "-o", dir + string(os.PathSeparator)}
	for _, s := range Services {
		args = append(args, "./"+s+"/cmd/"+s)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build: %w", err)
	}
	return nil
}

// RepoRoot is the directory holding go.work.
func RepoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("cannot locate the harness source")
	}
	dir := filepath.Dir(file)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("go.work not found above %s", file)
		}
		dir = parent
	}
}
