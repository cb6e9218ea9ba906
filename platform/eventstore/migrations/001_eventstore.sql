-- The event store: one row per event, streams keyed by (type, id), with the
-- stream's current version kept in `streams` so that an append with a stale
-- expected version fails on a single row, and concurrent appends serialise.
CREATE TABLE streams (
    stream_type text NOT NULL,
    stream_id   text NOT NULL,
    version     int  NOT NULL CHECK (version > 0),
    PRIMARY KEY (stream_type, stream_id)
);

CREATE TABLE events (
    position       bigserial   PRIMARY KEY,
    stream_type    text        NOT NULL,
    stream_id      text        NOT NULL,
    version        int         NOT NULL CHECK (version > 0),
    event_id       uuid        NOT NULL UNIQUE,
    event_type     text        NOT NULL,
    data           jsonb       NOT NULL,
    correlation_id text        NOT NULL,
    causation_id   text        NOT NULL,
    trace_parent   text        NOT NULL DEFAULT '',
    occurred_at    timestamptz NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (stream_type, stream_id, version)
);

-- The transactional outbox: the Kafka message of every event, written in the
-- same transaction as the event and deleted by the relay once Kafka
-- acknowledged it.
CREATE TABLE outbox (
    id         bigserial   PRIMARY KEY,
    event_id   uuid        NOT NULL,
    topic      text        NOT NULL,
    key        text        NOT NULL,
    payload    bytea       NOT NULL,
    headers    jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Command idempotency keys: a retried command with the same key and the same
-- input returns the first result instead of appending again.
CREATE TABLE command_keys (
    scope       text        NOT NULL,
    key         text        NOT NULL,
    fingerprint text        NOT NULL,
    stream_type text        NOT NULL,
    stream_id   text        NOT NULL,
    version     int         NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
