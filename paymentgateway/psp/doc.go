// Package psp is the domain of the simulated card processor: what a charge and
// a refund are, which payment-method token leads to which outcome, and the
// rules a request must follow before any money moves. It is pure (no I/O, no
// clock, no randomness of its own) so the processor's behaviour can be pinned
// down by unit tests and relied on by the services that test against it.
package psp
