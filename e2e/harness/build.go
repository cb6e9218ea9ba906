// Package harness runs the real orderflow processes for end-to-end tests: it
// builds the service binaries once, starts each one as its own OS process on
// free ports against fresh databases and a topic prefix of its own, and lets
// a test stop, SIGKILL and restart any of them.
package harness

import (
	"fmt"
	"os"
	"os/exec"

	"github.com/orderflow/orderflow/platform/testenv"
)

// Services, in start order. Each is built from ./<name>/cmd/<name>.
var Services = []string{"paymentgateway", "order", "payment", "compensation", "gateway"}

// Tools are the other commands the tests run.
var Tools = []string{"./gateway/cmd/rebuild-readmodels", "./tools/cmd/checkinvariants", "./tools/cmd/token", "./tools/cmd/orderflowctl"}

// Build compiles every service binary into dir. Call it once from TestMain.
func Build(dir string) error {
	root, err := testenv.FindRepoRoot()
	if err != nil {
		return err
	}
	args := []string{"build", "-o", dir + string(os.PathSeparator)}
	for _, s := range Services {
		args = append(args, "./"+s+"/cmd/"+s)
	}
	args = append(args, Tools...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build: %w", err)
	}
	return nil
}
