// Package command holds the payment service's reactions to the saga's
// events, one file per use case: request a payment for a new order, charge
// it through the PSP, refund it when the compensation service asks. Each
// talks to the outside only through the small interfaces declared here, so
// the rules for retrying and settling a charge are tested without servers.
package command
