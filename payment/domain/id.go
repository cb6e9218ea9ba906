package domain

import "github.com/google/uuid"

// namespace is the UUIDv5 namespace of payment ids
// (5d3c1f0e-7a42-4c6b-9d8e-2f1a6b7c8d90). It must never change: every stored
// stream and every PSP idempotency key derives from it.
func namespace() uuid.UUID {
	return uuid.UUID{0x5d, 0x3c, 0x1f, 0x0e, 0x7a, 0x42, 0x4c, 0x6b, 0x9d, 0x8e, 0x2f, 0x1a, 0x6b, 0x7c, 0x8d, 0x90}
}

// PaymentID returns the id of the payment of an order. It is derived from the
// order id, not drawn at random, so that a redelivered OrderCreated can only
// ever lead to the same payment stream and the same PSP idempotency key.
func PaymentID(orderID string) string {
	return uuid.NewSHA1(namespace(), []byte(orderID)).String()
}
