// Module platform holds the plumbing that several orderflow services share:
// the Postgres event store, the transactional outbox relay to Kafka, the Kafka
// consumer loop with its inbox and dead-letter topic, migrations, configuration
// from the environment, health checks and logging. Each concern is its own
// package, named for what it does.
package platform
