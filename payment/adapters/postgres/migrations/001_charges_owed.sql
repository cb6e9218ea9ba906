-- The charges the service owes: one row per payment requested and not yet
-- charged, written in the transaction that records the request and deleted
-- in the one that records the charge's outcome. A process that dies between
-- the two leaves its row behind; the sweep charges it again (same PSP
-- idempotency key) once due_at has passed, and pushes due_at on by a lease
-- first, so two replicas do not sweep the same payment at once.
CREATE TABLE payment_charges_owed (
    payment_id   text        PRIMARY KEY,
    request_id   text        NOT NULL,
    order_id     text        NOT NULL,
    trace_parent text        NOT NULL DEFAULT '',
    due_at       timestamptz NOT NULL
);

CREATE INDEX payment_charges_owed_due ON payment_charges_owed (due_at);
