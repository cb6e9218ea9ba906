// Command payment runs the payment service.
package main

import (
	"github.com/orderflow/orderflow/payment"
	"github.com/orderflow/orderflow/platform/process"
)

func main() {
	process.Main("payment", payment.EnvPrefix, payment.DefaultConfig(), payment.Run)
}
