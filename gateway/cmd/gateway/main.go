// Command gateway runs the GraphQL gateway.
package main

import (
	"github.com/orderflow/orderflow/gateway"
	"github.com/orderflow/orderflow/platform/process"
)

func main() {
	process.Main("gateway", gateway.EnvPrefix, gateway.DefaultConfig(), gateway.Run)
}
