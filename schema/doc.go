// Package schema is the event contract shared by every orderflow service: the
// envelope every event travels in, the event types with their stable names
// (order.created.v1), the Kafka topics and NATS subjects they are published on,
// and the codec that turns them into bytes and back — upcasting old versions on
// the way in.
//
// It depends on nothing heavier than the standard library and a UUID package,
// so any service, tool or test can import it.
package schema
