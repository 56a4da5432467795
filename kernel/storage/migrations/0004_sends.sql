-- Bulk sends: the send object, its explicit audience, the outbox columns the sender workers need, and
-- the workers' heartbeats.

-- A bulk send: what to send (the CreateSendRequest, templates and options, minus the audience list),
-- how far the outbox is filled, the wave pacing state and the progress counters. Counters change in the
-- same transaction as the message rows they count, so they always add up:
-- total = sent + failed + expired + cancelled + suppressed + pending.
CREATE TABLE sends (
    project_id uuid NOT NULL REFERENCES projects ON DELETE CASCADE,
    send_id uuid NOT NULL,
    -- The caller's idempotency key: a repeated CreateSend returns the existing send.
    client_key text,
    name text NOT NULL DEFAULT '',
    purpose text NOT NULL CHECK (purpose IN ('marketing', 'transactional')),
    channels text[] NOT NULL,
    -- The serialised CreateSendRequest without its audience list (templates, pacing, domain options).
    definition bytea NOT NULL,
    state text NOT NULL CHECK (state IN ('running', 'paused', 'cancelled', 'completed')),
    -- 'list': the profiles in send_audience; 'all': every profile reachable on the channels.
    audience text NOT NULL CHECK (audience IN ('list', 'all')),
    -- Outbox filling, chunk by chunk in profile id order, resumable: the last profile id done, who fills
    -- it now (a worker id) and until when, and when it was finished (NULL while filling).
    plan_cursor uuid,
    plan_owner text,
    plan_until timestamptz,
    planned_at timestamptz,
    -- The next outbox row's position in the send (messages.seq): workers claim in seq order.
    next_seq bigint NOT NULL DEFAULT 0,
    -- Wave pacing: `pace_count` messages per `pace_seconds`, NULL for no pacing. The schedule's start
    -- (epoch seconds, moved forward after a pause) and the messages released so far.
    pace_count double precision,
    pace_seconds double precision,
    pace_start double precision,
    pace_released bigint NOT NULL DEFAULT 0,
    -- Progress.
    total bigint NOT NULL DEFAULT 0,
    sent bigint NOT NULL DEFAULT 0,
    failed bigint NOT NULL DEFAULT 0,
    suppressed bigint NOT NULL DEFAULT 0,
    expired bigint NOT NULL DEFAULT 0,
    cancelled bigint NOT NULL DEFAULT 0,
    retries bigint NOT NULL DEFAULT 0,
    -- Not in `total`: addresses reached through several profiles (sent once), profiles without the
    -- consent the purpose needs, and listed profiles that do not exist.
    duplicates bigint NOT NULL DEFAULT 0,
    not_consented bigint NOT NULL DEFAULT 0,
    unknown_profiles bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    PRIMARY KEY (project_id, send_id)
);
CREATE UNIQUE INDEX sends_client_key ON sends (project_id, client_key) WHERE client_key IS NOT NULL;
-- What the workers poll: sends with work (sending or outbox filling).
CREATE INDEX sends_active ON sends (state) WHERE state IN ('running', 'paused');

-- The profiles of a send with an explicit audience, until its outbox is filled.
CREATE TABLE send_audience (
    project_id uuid NOT NULL,
    send_id uuid NOT NULL,
    profile_id uuid NOT NULL,
    PRIMARY KEY (project_id, send_id, profile_id),
    FOREIGN KEY (project_id, send_id) REFERENCES sends ON DELETE CASCADE,
    FOREIGN KEY (project_id, profile_id) REFERENCES profiles ON DELETE CASCADE
);

-- A send cancelled before a message went out.
ALTER TABLE messages DROP CONSTRAINT messages_status_check;
ALTER TABLE messages ADD CONSTRAINT messages_status_check
    CHECK (status IN ('planned', 'leased', 'sent', 'failed', 'retry', 'expired', 'suppressed', 'cancelled'));
-- The position of a bulk message in its send (claim order), and its first attempt (max age counts from it).
ALTER TABLE messages ADD COLUMN seq bigint;
ALTER TABLE messages ADD COLUMN first_attempt_at timestamptz;
-- Room in each page for the two updates of a bulk message (leased, then sent): they stay HOT (no index
-- entry written), because no index below covers status, lease or outcome columns.
ALTER TABLE messages SET (fillfactor = 60);

-- One row per (send, channel, address): the same address reached through several profiles is sent once.
-- ASCII case folding, as sender_ext.dedup_key folds an email (APNs tokens are stored lower-cased already;
-- FCM tokens and push endpoints are long random strings that never differ only by case).
CREATE UNIQUE INDEX messages_send_address
    ON messages (project_id, send_id, channel,
                 translate(address, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'))
    WHERE send_id IS NOT NULL;
-- First attempts are claimed in seq order.
CREATE INDEX messages_send_seq ON messages (project_id, send_id, seq) WHERE send_id IS NOT NULL;
-- Messages due at a set time: retries, messages deferred by a domain throttle, and messages of a dead
-- worker being taken over. next_attempt_at is NULL otherwise, so the common path never touches this index.
CREATE INDEX messages_due ON messages (project_id, send_id, next_attempt_at) WHERE next_attempt_at IS NOT NULL;

-- Sender workers (in kernels or `herald worker` processes) and their heartbeats: a domain's throttle
-- budget is divided among the live ones, and the messages leased by a dead one are taken over.
CREATE TABLE workers (
    worker_id text PRIMARY KEY,
    host text NOT NULL,
    pid integer NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now()
);
