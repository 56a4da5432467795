-- Send engine v2 (kernel.delivery.slices): a bulk send is cut into slices, contiguous ranges of its audience
-- in profile id order, leased per slice by the workers and accounted per slice. Messages are not written
-- before they are sent: each slice's audience is read when it is sent, and what became of each attempted
-- message is appended to the message log afterwards. Only messages that must wait (a retry, a throttle's
-- or a rate's deferral) get a row of their own, in message_retries, until their outcome is final.

-- Which workers hold which part of a send. `lo` exclusive, `hi` inclusive (NULL: to the end of the
-- audience). The counters are the slice's own; a send's are their sums (kernel.delivery.slices).
CREATE TABLE send_slices (
    project_id uuid NOT NULL,
    send_id uuid NOT NULL,
    slice_no integer NOT NULL,
    lo uuid NOT NULL,
    hi uuid,
    state text NOT NULL CHECK (state IN ('leased', 'done')),
    owner text,
    lease_until timestamptz,
    -- How many times the slice was leased: more than one means a worker died with it, and the next reads
    -- the message log to skip what was sent already.
    leases integer NOT NULL DEFAULT 1,
    planned integer NOT NULL DEFAULT 0,
    sent integer NOT NULL DEFAULT 0,
    failed integer NOT NULL DEFAULT 0,
    suppressed integer NOT NULL DEFAULT 0,
    expired integer NOT NULL DEFAULT 0,
    cancelled integer NOT NULL DEFAULT 0,
    retries integer NOT NULL DEFAULT 0,
    duplicates integer NOT NULL DEFAULT 0,
    not_consented integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    done_at timestamptz,
    PRIMARY KEY (project_id, send_id, slice_no),
    FOREIGN KEY (project_id, send_id) REFERENCES sends ON DELETE CASCADE
);
CREATE INDEX send_slices_leased ON send_slices (project_id, send_id, lease_until) WHERE state = 'leased';

ALTER TABLE sends ADD COLUMN next_slice integer NOT NULL DEFAULT 0;

-- Messages that wait for a later attempt: retries (after a temporary failure), deferrals (a domain's
-- throttle, a channel's rate, a paused channel). Leased by pushing `due_at` to the lease's end, so that a
-- message whose worker died comes back by itself. `slice_no` says whose counters its outcome goes to.
CREATE TABLE message_retries (
    project_id uuid NOT NULL,
    send_id uuid NOT NULL,
    message_id uuid NOT NULL,
    slice_no integer NOT NULL,
    profile_id uuid NOT NULL,
    channel text NOT NULL,
    address text NOT NULL,
    attempts integer NOT NULL,
    first_attempt_at timestamptz,
    due_at timestamptz NOT NULL,
    owner text,
    detail text NOT NULL DEFAULT '',
    PRIMARY KEY (project_id, send_id, message_id),
    FOREIGN KEY (project_id, send_id) REFERENCES sends ON DELETE CASCADE
);
CREATE INDEX message_retries_due ON message_retries (project_id, send_id, due_at);
CREATE INDEX message_retries_profile ON message_retries (project_id, profile_id);

-- One narrow row per attempted bulk message, appended after the provider answered, in bulk. Partitioned
-- by day (kernel.delivery.message_log creates the coming days and drops those past HERALD_MESSAGE_LOG_DAYS),
-- so that an old history goes with a DROP TABLE, never with a vacuum. One index: a person's messages,
-- for erasure, export and the feedback of an address shared by several profiles.
CREATE TABLE message_log (
    project_id uuid NOT NULL,
    logged_at timestamptz NOT NULL DEFAULT now(),
    message_id uuid NOT NULL,
    send_id uuid NOT NULL,
    profile_id uuid NOT NULL,
    channel text NOT NULL,
    address text NOT NULL,
    outcome text NOT NULL CHECK (outcome IN ('sent', 'failed', 'expired')),
    reason text NOT NULL DEFAULT '',
    provider_id text NOT NULL DEFAULT '',
    attempts integer NOT NULL
) PARTITION BY RANGE (logged_at);
CREATE INDEX message_log_profile ON message_log (project_id, profile_id);
-- Rows whose day has no partition yet (a clock far ahead) are not refused.
CREATE TABLE message_log_default PARTITION OF message_log DEFAULT;

-- A bulk message's id starts with the first 8 bytes of its send's id (kernel.delivery.send_ids): unique
-- within a project, so that feedback finds the send from a message id alone.
CREATE UNIQUE INDEX sends_message_id_prefix_v2 ON sends (project_id, substr(uuid_send(send_id), 1, 8));
DROP INDEX sends_message_id_prefix;

-- Addresses shared by several profiles: the probe that finds the other holders of a folded address. A stored
-- column rather than an index on the expression, so that the probe reads the index alone (PostgreSQL reads
-- the table for an expression index, to recompute the expression's column).
ALTER TABLE profile_addresses ADD COLUMN folded text GENERATED ALWAYS AS (lower(value COLLATE "C")) STORED;
CREATE INDEX profile_addresses_folded ON profile_addresses (project_id, kind, folded);
-- The shared addresses a send has sent to: the first slice to claim one sends it, once, whatever changed
-- in the profiles between two slices.
CREATE TABLE send_address_claims (
    project_id uuid NOT NULL,
    send_id uuid NOT NULL,
    channel text NOT NULL,
    address_key text NOT NULL,
    profile_id uuid NOT NULL,
    PRIMARY KEY (project_id, send_id, channel, address_key),
    FOREIGN KEY (project_id, send_id) REFERENCES sends ON DELETE CASCADE
);

-- Sends of the first engine still under way: what their outbox planned and did not finish waits in
-- message_retries (due now); what it sent goes to the log; their audience, if not all planned, goes on in
-- slices from where the outbox stopped. Their bulk rows leave `messages`, which keeps transactional ones.
INSERT INTO message_retries (project_id, send_id, message_id, slice_no, profile_id, channel, address, attempts,
                             first_attempt_at, due_at, detail)
SELECT m.project_id, m.send_id, m.message_id, -1, m.profile_id, m.channel, m.address, m.attempts,
       m.first_attempt_at, coalesce(m.next_attempt_at, now()), m.detail
FROM messages m JOIN sends s USING (project_id, send_id)
WHERE m.send_id IS NOT NULL AND m.profile_id IS NOT NULL AND m.status IN ('planned', 'leased', 'retry')
  AND s.state IN ('running', 'paused');
INSERT INTO message_log (project_id, logged_at, message_id, send_id, profile_id, channel, address, outcome,
                         reason, provider_id, attempts)
SELECT project_id, updated_at, message_id, send_id, profile_id, channel, address, status, failure_reason,
       provider_id, attempts
FROM messages
WHERE send_id IS NOT NULL AND profile_id IS NOT NULL AND status IN ('sent', 'failed', 'expired');
-- Their counters so far become slice -1 of each such send (a slice that is done).
INSERT INTO send_slices (project_id, send_id, slice_no, lo, hi, state, planned, sent, failed, suppressed,
                         expired, cancelled, retries, duplicates, not_consented, done_at)
SELECT project_id, send_id, -1, '00000000-0000-0000-0000-000000000000', plan_cursor, 'done', total, sent,
       failed, suppressed, expired, cancelled, retries, duplicates, not_consented, now()
FROM sends;
DELETE FROM messages WHERE send_id IS NOT NULL;
DROP INDEX messages_send_address;
DROP INDEX messages_send_profile;
DROP INDEX messages_due;
ALTER TABLE messages ADD CONSTRAINT messages_transactional_only CHECK (send_id IS NULL);
-- The counters now live in the slices; the first engine's filler lease and positions are gone.
ALTER TABLE sends DROP COLUMN total, DROP COLUMN sent, DROP COLUMN failed, DROP COLUMN suppressed,
    DROP COLUMN expired, DROP COLUMN cancelled, DROP COLUMN retries, DROP COLUMN duplicates,
    DROP COLUMN not_consented, DROP COLUMN plan_owner, DROP COLUMN plan_until, DROP COLUMN next_seq;
DROP FUNCTION bulk_message_id(uuid, bigint);
