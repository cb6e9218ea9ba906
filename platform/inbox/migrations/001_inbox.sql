-- The inbox: which events each consumer has handled. A row is written in the
-- same transaction as the handler's effect, so a redelivered event finds its
-- row and changes nothing twice.
CREATE TABLE inbox (
    consumer   text        NOT NULL,
    event_id   uuid        NOT NULL,
    handled_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
