-- Durable timers (kernel.scheduler) and campaigns (kernel.engage.campaigns).
--
-- A timer is due at an instant; any kernel's scheduler claims the due ones (FOR UPDATE SKIP LOCKED) under
-- a lease, runs them, and marks them done. A kernel that dies while running one leaves its lease to expire,
-- and another runs it again: handlers are idempotent (a campaign occurrence creates its send with a
-- request id derived from the campaign and the occurrence key). (project_id, kind, key) names one timer:
-- scheduling it twice schedules it once.
CREATE TABLE scheduled_jobs (
    project_id uuid NOT NULL REFERENCES projects ON DELETE CASCADE,
    job_id uuid NOT NULL,
    -- Which handler runs it, e.g. 'campaign.occurrence'.
    kind text NOT NULL,
    -- The timer's identity within its kind (e.g. a campaign id and an occurrence key).
    key text NOT NULL,
    due_at timestamptz NOT NULL,
    -- What the handler needs beside the key.
    payload jsonb NOT NULL DEFAULT '{}',
    -- A timer whose owner cancels it is deleted while pending; a run one stays, so its key is never reused.
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done')),
    -- Who runs it now, and until when; another scheduler may take it after.
    lease_owner text,
    lease_until timestamptz,
    attempts integer NOT NULL DEFAULT 0,
    finished_at timestamptz,
    PRIMARY KEY (project_id, job_id),
    UNIQUE (project_id, kind, key)
);
-- The schedulers' poll: pending timers in due order.
CREATE INDEX scheduled_jobs_due ON scheduled_jobs (due_at) WHERE state = 'pending';

CREATE TABLE campaigns (
    project_id uuid NOT NULL REFERENCES projects ON DELETE CASCADE,
    campaign_id uuid NOT NULL,
    -- The caller's idempotency key (AIP-155): a repeated CreateCampaign returns the existing campaign.
    client_key text,
    name text NOT NULL DEFAULT '',
    state text NOT NULL CHECK (state IN ('draft', 'scheduled', 'running', 'completed', 'cancelled')),
    -- The campaign's content and schedule as the client last wrote them (herald.v1.Campaign in proto
    -- JSON, output-only fields cleared): checked when written, and again by CreateSend at each occurrence.
    definition jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, campaign_id)
);
CREATE UNIQUE INDEX campaigns_client_key ON campaigns (project_id, client_key) WHERE client_key IS NOT NULL;
CREATE INDEX campaigns_listing ON campaigns (project_id, created_at DESC, campaign_id DESC);

-- Each occurrence released: its key, when it was due, and the send it created (or why none could be).
CREATE TABLE campaign_occurrences (
    project_id uuid NOT NULL,
    campaign_id uuid NOT NULL,
    occurrence_key text NOT NULL,
    due_at timestamptz NOT NULL,
    send_id uuid,
    error text,
    -- A local-time release: the zones this part reached, and whether profiles without one were in it.
    time_zones text[] NOT NULL DEFAULT '{}',
    without_time_zone boolean NOT NULL DEFAULT false,
    released_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((send_id IS NULL) <> (error IS NULL)),
    PRIMARY KEY (project_id, campaign_id, occurrence_key),
    FOREIGN KEY (project_id, campaign_id) REFERENCES campaigns ON DELETE CASCADE
);
