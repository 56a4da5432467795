-- Outgoing webhooks: endpoints of the customer's own systems that Herald calls with its events. Not to be
-- confused with webhook_batches (the providers' calls INTO Herald).
CREATE TABLE outhook_endpoints (
    project_id uuid NOT NULL REFERENCES projects ON DELETE CASCADE,
    endpoint_id uuid NOT NULL,
    url text NOT NULL,
    description text NOT NULL DEFAULT '',
    -- Dotted names ("message.delivered", "profile.created").
    event_types text[] NOT NULL,
    enabled boolean NOT NULL DEFAULT true,
    -- Why the endpoint stopped (empty while enabled, "disabled" when a caller disabled it, "failing" when
    -- Herald did after outhook_disable_after_seconds of failures).
    disabled_reason text NOT NULL DEFAULT '',
    -- The signing secret, sealed (kernel.secret_box) with "<project>/<endpoint>/outhook" as context; the
    -- previous one still signs beside it until previous_secret_until (a rotation's overlap).
    sealed_secret bytea NOT NULL,
    sealed_previous_secret bytea,
    previous_secret_until timestamptz,
    -- Since when every attempt failed (NULL after a success): decides the automatic disabling.
    failing_since timestamptz,
    -- Events dropped after their last retry, or left undelivered when the endpoint was deleted.
    dropped_events bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, endpoint_id)
);
-- What publishing reads on every fact it reports: the enabled endpoints of one project.
CREATE INDEX outhook_endpoints_subscribed ON outhook_endpoints (project_id) WHERE enabled;

-- The outbox: one row per event and subscribed endpoint, written in the transaction of the fact it
-- reports, deleted once the endpoint acknowledged it (or it was dropped). Kernels lease due rows with
-- FOR UPDATE SKIP LOCKED: a lease runs out (next_attempt_at) only if its kernel died mid-call.
CREATE TABLE outhook_deliveries (
    project_id uuid NOT NULL,
    endpoint_id uuid NOT NULL,
    event_id uuid NOT NULL,
    event_type text NOT NULL,
    -- The profile the event is about, so that erasing the person removes what is not yet delivered.
    profile_id uuid,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    -- The event's "data" object, as delivered.
    data jsonb NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- The kernel holding the row while it posts it (NULL when due or waiting for a retry).
    lease_owner uuid,
    PRIMARY KEY (project_id, endpoint_id, event_id),
    FOREIGN KEY (project_id, endpoint_id) REFERENCES outhook_endpoints ON DELETE CASCADE
);
CREATE INDEX outhook_deliveries_due ON outhook_deliveries (next_attempt_at);
-- One endpoint's due events, in the order they are posted.
CREATE INDEX outhook_deliveries_endpoint_due ON outhook_deliveries (project_id, endpoint_id, next_attempt_at);
CREATE INDEX outhook_deliveries_profile ON outhook_deliveries (project_id, profile_id)
    WHERE profile_id IS NOT NULL;

-- The last attempts per endpoint (one row per POST, trimmed to outhook_attempts_kept), for
-- ListDeliveries and `herald webhooks deliveries`.
CREATE TABLE outhook_attempts (
    project_id uuid NOT NULL,
    endpoint_id uuid NOT NULL,
    attempt_id bigint GENERATED ALWAYS AS IDENTITY,
    attempted_at timestamptz NOT NULL,
    event_types text[] NOT NULL,
    event_ids uuid[] NOT NULL,
    -- The HTTP status answered, or 0 with `error` when none came (refused, timed out).
    http_status integer NOT NULL,
    error text NOT NULL DEFAULT '',
    duration_ms double precision NOT NULL,
    -- 1 for a first attempt; the highest of the batch's events.
    attempt integer NOT NULL,
    -- When the batch's events are tried again; NULL when delivered or dropped.
    next_retry_at timestamptz,
    PRIMARY KEY (project_id, endpoint_id, attempt_id),
    FOREIGN KEY (project_id, endpoint_id) REFERENCES outhook_endpoints ON DELETE CASCADE
);
