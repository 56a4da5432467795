-- Marketing pressure (kernel.engage.pressure): a project's rules, and the marketing messages each profile
-- was given, which the rules are checked against when a message is about to be sent.

-- One row per project with rules; a project without a row has none (and pays nothing for them).
CREATE TABLE pressure_rules (
    project_id uuid PRIMARY KEY REFERENCES projects ON DELETE CASCADE,
    -- {"caps": [{"max": n, "period": "day"|"week", "channel": "", "label": ""}], "grace_seconds": n,
    --  "quiet_hours": {"start": "HH:MM", "end": "HH:MM", "action": "delay"|"drop"} | null}
    rules jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A marketing message counted against its profile's caps and grace period: taken, under a per-profile
-- lock, in the transaction that decides to send it and committed before it goes to the provider, so that
-- a crash can only leave a message counted and unsent, never sent and uncounted. Keyed by message id: a
-- message tried again (a retry, a slice read again after a crash) is counted once.
CREATE TABLE marketing_touches (
    project_id uuid NOT NULL,
    profile_id uuid NOT NULL,
    message_id uuid NOT NULL,
    touched_at timestamptz NOT NULL,
    channel text NOT NULL,
    label text NOT NULL DEFAULT '',
    PRIMARY KEY (project_id, profile_id, message_id)
);

-- Messages the rules kept from going out, per slice and per channel, beside the other outcomes:
-- capped, grace_period and quiet_hours_dropped are final (logged), quiet_hours_delayed counts the times a
-- message was put off to the end of quiet hours (like retries, not an outcome).
ALTER TABLE send_slices
    ADD COLUMN capped integer NOT NULL DEFAULT 0,
    ADD COLUMN grace_period integer NOT NULL DEFAULT 0,
    ADD COLUMN quiet_hours_dropped integer NOT NULL DEFAULT 0,
    ADD COLUMN quiet_hours_delayed integer NOT NULL DEFAULT 0;
ALTER TABLE send_channel_outcomes
    ADD COLUMN capped integer NOT NULL DEFAULT 0,
    ADD COLUMN grace_period integer NOT NULL DEFAULT 0,
    ADD COLUMN quiet_hours_dropped integer NOT NULL DEFAULT 0,
    ADD COLUMN quiet_hours_delayed integer NOT NULL DEFAULT 0;

-- A message the rules kept from going out is logged with its reason, so that a slice read again does not
-- judge (and count) it twice, and the profile's history shows it.
ALTER TABLE message_log DROP CONSTRAINT message_log_outcome_check;
ALTER TABLE message_log ADD CONSTRAINT message_log_outcome_check
    CHECK (outcome IN ('sent', 'failed', 'expired', 'capped', 'grace_period', 'quiet_hours_dropped'));
