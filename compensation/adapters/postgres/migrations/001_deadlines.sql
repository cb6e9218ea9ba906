-- Payment deadlines of active sagas. A row is written in the same
-- transaction as the SagaStarted that sets it and deleted in the one that
-- makes it void (settled, decided, cancelled), so a restart never loses a
-- deadline and a fired one is never fired again.
CREATE TABLE deadlines (
    order_id text        PRIMARY KEY,
    due_at   timestamptz NOT NULL
);

CREATE INDEX deadlines_due_at ON deadlines (due_at);
