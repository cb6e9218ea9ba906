// Package ports adapts the outside world to the payment use cases: the Kafka
// events the service reacts to, and a small HTTP API to look at payments.
package ports
