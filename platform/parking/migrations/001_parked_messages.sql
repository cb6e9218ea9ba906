-- Messages a consumer set aside: parked ones (failed transiently past the
-- retry budget, or waiting behind such a message of the same key) and dead
-- letters. A parked row that is waiting or replaying holds its key on its
-- partition: the consumer parks the key's later messages behind it.
CREATE TABLE parked_messages (
    id             bigserial   PRIMARY KEY,
    consumer_group text        NOT NULL,
    topic          text        NOT NULL,
    kafka_partition integer    NOT NULL,
    kafka_offset   bigint      NOT NULL,
    key            text        NOT NULL,
    kind           text        NOT NULL CHECK (kind IN ('parked', 'dead_letter')),
    state          text        NOT NULL CHECK (state IN ('waiting', 'replaying', 'replayed', 'discarded')),
    reason         text        NOT NULL,
    attempts       integer     NOT NULL,
    replays        integer     NOT NULL DEFAULT 0,
    event_id       text        NOT NULL DEFAULT '',
    event_type     text        NOT NULL DEFAULT '',
    headers        jsonb       NOT NULL,
    value          bytea       NOT NULL,
    parked_at      timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (consumer_group, topic, kafka_partition, kafka_offset)
);

-- The keys a partition holds, and the replays its consumer has to carry out.
CREATE INDEX parked_messages_open ON parked_messages (consumer_group, topic, kafka_partition, key, kafka_offset)
    WHERE state IN ('waiting', 'replaying');

-- Every change of a message's state, with who asked for it.
CREATE TABLE parked_audit (
    id         bigserial   PRIMARY KEY,
    message_id bigint      NOT NULL REFERENCES parked_messages (id),
    at         timestamptz NOT NULL DEFAULT now(),
    action     text        NOT NULL,
    actor      text        NOT NULL,
    note       text        NOT NULL DEFAULT ''
);
CREATE INDEX parked_audit_message ON parked_audit (message_id, id);
