// Package domain is the payment service's model: one Payment per order, the
// statuses it may pass through and the rules for moving between them. It is
// pure — no I/O, no clock — so every rule is unit tested without servers, and
// the same rules guard both new decisions and the replay of stored events.
package domain
