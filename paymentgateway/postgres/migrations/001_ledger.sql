-- The processor's ledger: every charge (captured or declined), every refund,
-- the first answer given under each idempotency key, and the attempts counted
-- per key for tokens that fail before they succeed.

CREATE TABLE charges (
    -- seq orders the ledger by creation, for stable paging.
    seq             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    id              text        PRIMARY KEY,
    -- a key creates at most one charge, even if the application got it wrong.
    idempotency_key text        NOT NULL UNIQUE,
    amount          bigint      NOT NULL CHECK (amount > 0),
    currency        text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    source          text        NOT NULL,
    reference       text        NOT NULL DEFAULT '',
    description     text        NOT NULL DEFAULT '',
    status          text        NOT NULL CHECK (status IN ('succeeded', 'failed')),
    failure_code    text        NOT NULL DEFAULT '',
    amount_refunded bigint      NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    -- money can never be refunded twice, whatever the application does.
    CHECK (amount_refunded >= 0 AND amount_refunded <= amount),
    CHECK (status = 'succeeded' OR amount_refunded = 0)
);

CREATE INDEX charges_reference_seq ON charges (reference, seq);

CREATE TABLE refunds (
    seq             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    id              text        PRIMARY KEY,
    idempotency_key text        NOT NULL UNIQUE,
    charge_id       text        NOT NULL REFERENCES charges (id),
    amount          bigint      NOT NULL CHECK (amount > 0),
    currency        text        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('succeeded', 'failed')),
    created_at      timestamptz NOT NULL
);

CREATE INDEX refunds_charge_seq ON refunds (charge_id, seq);

-- The first answer given under a key, replayed verbatim to retries. The row
-- is inserted in the same transaction as the charge or refund it answers, so
-- the primary key makes concurrent requests with one key wait for the first.
CREATE TABLE idempotency_keys (
    endpoint    text        NOT NULL,
    key         text        NOT NULL,
    fingerprint bytea       NOT NULL,
    status_code int         NOT NULL,
    body        bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (endpoint, key)
);

-- Attempts per key, for tokens whose first attempts fail (tok_flaky): kept in
-- the database so that a restart does not reset the count.
CREATE TABLE attempts (
    endpoint   text        NOT NULL,
    key        text        NOT NULL,
    count      int         NOT NULL,
    last_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (endpoint, key)
);
