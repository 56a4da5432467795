-- Automations (kernel.engage.automations): versioned graphs of steps that tracked events put profiles into.
CREATE TABLE automations (
    project_id uuid NOT NULL REFERENCES projects ON DELETE CASCADE,
    automation_id uuid NOT NULL,
    -- The caller's idempotency key (AIP-155): a repeated CreateAutomation returns the existing automation.
    client_key text,
    state text NOT NULL CHECK (state IN ('draft', 'active', 'paused', 'archived')),
    -- The latest version: the one profiles entering from now on follow.
    version integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, automation_id)
);
CREATE UNIQUE INDEX automations_client_key ON automations (project_id, client_key) WHERE client_key IS NOT NULL;
CREATE INDEX automations_listing ON automations (project_id, created_at DESC, automation_id DESC);

-- Every version as saved, immutable: a profile inside finishes on the version it entered.
CREATE TABLE automation_versions (
    project_id uuid NOT NULL,
    automation_id uuid NOT NULL,
    version integer NOT NULL,
    -- The herald.v1.Automation as written, in proto JSON (output-only fields cleared), its saved
    -- templates' versions fixed.
    definition jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, automation_id, version),
    FOREIGN KEY (project_id, automation_id) REFERENCES automations ON DELETE CASCADE
);

-- The event names event ingestion looks for, in its own transaction: 'enter' for the trigger of an active
-- automation's latest version, 'exit' for an exit event of any version a profile may be inside.
CREATE TABLE automation_triggers (
    project_id uuid NOT NULL,
    event_name text NOT NULL,
    automation_id uuid NOT NULL,
    role text NOT NULL CHECK (role IN ('enter', 'exit')),
    PRIMARY KEY (project_id, event_name, automation_id, role),
    FOREIGN KEY (project_id, automation_id) REFERENCES automations ON DELETE CASCADE
);

-- A profile's passage through an automation: where it is while inside, and why it left.
CREATE TABLE automation_entries (
    project_id uuid NOT NULL,
    automation_id uuid NOT NULL,
    entry_id uuid NOT NULL,
    profile_id uuid NOT NULL,
    version integer NOT NULL,
    -- The step it waits at (a wait step) while inside; its last step once it left.
    step_id text NOT NULL,
    -- Counts the steps taken: the wait timer's key ends with it, so a timer of an earlier step is stale.
    step_count integer NOT NULL DEFAULT 0,
    -- When its wait ends (kept while the automation is paused, to plan the timer again on activation).
    wait_until timestamptz,
    state text NOT NULL CHECK (state IN ('inside', 'left')),
    -- 'completed', 'exit_event' or 'archived' once it left.
    exit_reason text,
    -- The entering event's properties (stored attribute form): templates print them as {{ event.x }}.
    event_attributes jsonb NOT NULL DEFAULT '{}',
    entered_at timestamptz NOT NULL DEFAULT now(),
    left_at timestamptz,
    PRIMARY KEY (project_id, automation_id, entry_id),
    FOREIGN KEY (project_id, automation_id, version) REFERENCES automation_versions ON DELETE CASCADE,
    FOREIGN KEY (project_id, profile_id) REFERENCES profiles ON DELETE CASCADE
);
-- Exit events and re-entry policies: a profile's entries.
CREATE INDEX automation_entries_profile ON automation_entries (project_id, profile_id, automation_id, entered_at);
-- Caps, pause and archive: the profiles inside an automation.
CREATE INDEX automation_entries_inside ON automation_entries (project_id, automation_id) WHERE state = 'inside';
