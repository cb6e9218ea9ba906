// Package domain holds the order aggregate: what an order is, the rules a new
// order must satisfy, and the status transitions it allows. Command methods
// validate and return the events to record; Apply folds an event into the
// state and never fails on an event the aggregate itself produced.
package domain
