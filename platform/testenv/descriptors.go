package testenv

import (
	"os"
	"strconv"
	"sync"
	"syscall"
)

var descriptorsOnce sync.Once

// NoInheritedDescriptors marks every descriptor this process inherited
// (above stderr) close-on-exec, once; Infra and the e2e harness call it
// before they start a process, and so should a test that starts one.
//
// Run as `flock /tmp/orderflow-test.lock go test ...`, the test inherits
// the lock's descriptor, and Go passes inherited descriptors on to what it
// starts: a server that infra.sh restarts from a test, or a service left
// running by a crashed test, would keep the lock for as long as it runs.
// Go opens its own descriptors close-on-exec already.
func NoInheritedDescriptors() {
	descriptorsOnce.Do(func() {
		entries, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			return
		}
		for _, e := range entries {
			if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
				syscall.CloseOnExec(fd)
			}
		}
	})
}
