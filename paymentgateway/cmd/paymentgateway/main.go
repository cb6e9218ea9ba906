// Command paymentgateway runs the simulated payment gateway (PSP).
package main

import (
	"github.com/orderflow/orderflow/paymentgateway"
	"github.com/orderflow/orderflow/platform/process"
)

func main() {
	process.Main("paymentgateway", paymentgateway.EnvPrefix, paymentgateway.Config{}, paymentgateway.Run)
}
