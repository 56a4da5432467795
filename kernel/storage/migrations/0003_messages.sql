-- Every message Herald plans or sends, one row per (profile or raw address, channel): its id is fixed
-- when the row is written, and its state moves planned -> leased -> sent | failed | retry | expired.
-- Transactional sends write it as they send; bulk sends (the outbox) fill it ahead of the workers.
CREATE TABLE messages (
    project_id uuid NOT NULL,
    message_id uuid NOT NULL,
    -- The bulk send this message belongs to; NULL for transactional messages.
    send_id uuid,
    -- NULL when a transactional message went to a raw address.
    profile_id uuid,
    channel text NOT NULL,
    address text NOT NULL,
    status text NOT NULL
        CHECK (status IN ('planned', 'leased', 'sent', 'failed', 'retry', 'expired', 'suppressed')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    lease_owner text,
    lease_until timestamptz,
    provider_id text NOT NULL DEFAULT '',
    failure_reason text NOT NULL DEFAULT '',
    detail text NOT NULL DEFAULT '',
    -- The latest feedback from the provider (delivered, bounced, opened, ...).
    last_feedback text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, message_id)
);
CREATE INDEX messages_profile ON messages (project_id, profile_id) WHERE profile_id IS NOT NULL;
CREATE INDEX messages_address ON messages (project_id, address);

-- Addresses that must never be sent to again: hard bounces, spam complaints, unsubscribes at the
-- provider. Kept as salted hashes (the same formula as suppressed_identifiers), so the list blocks an
-- address without keeping it readable, and an erased person leaves no trace here either.
CREATE TABLE delivery_suppressions (
    project_id uuid NOT NULL REFERENCES projects ON DELETE CASCADE,
    identifier_sha256 bytea NOT NULL,
    reason text NOT NULL CHECK (reason IN ('bounced', 'complained', 'unsubscribed', 'invalid')),
    channel text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, identifier_sha256)
);

-- SendTransactional idempotency: a repeated key within 24 hours returns the first answer.
CREATE TABLE transactional_requests (
    project_id uuid NOT NULL REFERENCES projects ON DELETE CASCADE,
    idempotency_key text NOT NULL,
    -- The serialised SendTransactionalResponse of the first call (message ids and outcomes, no address);
    -- NULL while that call is still sending.
    response bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, idempotency_key)
);
