// Command order runs the order service.
package main

import (
	"github.com/orderflow/orderflow/order"
	"github.com/orderflow/orderflow/platform/process"
)

func main() {
	process.Main("order", order.EnvPrefix, order.DefaultConfig(), order.Run)
}
