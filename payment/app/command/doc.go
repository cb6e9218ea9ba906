// Package command holds the payment service's use cases, one file each:
// request a payment for a new order, charge it through the PSP, sweep up
// charges a crash interrupted, refund when the compensation service asks.
// Decisions are made on units of work their callers open (a batch of Kafka
// messages, a group-committed batch of outcomes), so a whole batch is saved
// and committed at once; the PSP is only ever called between transactions.
// Each talks to the outside only through the small interfaces declared here,
// so the rules for retrying and settling a charge are tested without servers.
package command
