// Package measure holds what orderflow's benchmarks share, so each is done
// one way: the description of the machine the figures depend on, where its
// CPU went (from /proc), closed-loop measurement and its latency summary,
// the raw single-row INSERT ceiling of the local Postgres in a scratch
// database, and the section of a markdown file that each benchmark owns.
package measure
