// Command compensation runs the compensation service.
package main

import (
	"github.com/orderflow/orderflow/compensation"
	"github.com/orderflow/orderflow/platform/process"
)

func main() {
	process.Main("compensation", compensation.EnvPrefix, compensation.DefaultConfig(), compensation.Run)
}
