-- Projects, API keys and unified profiles. Every table's key starts with project_id, so that the data
-- can be sharded by project (Citus) without a schema change.

CREATE TABLE projects (
    project_id uuid PRIMARY KEY,
    name text NOT NULL,
    timezone text NOT NULL DEFAULT 'UTC',
    inactivity_retention_days integer NOT NULL DEFAULT 0 CHECK (inactivity_retention_days >= 0),
    -- Salt of the hashes kept for erased-and-suppressed identifiers; never leaves the database.
    suppression_salt bytea NOT NULL DEFAULT uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    project_id uuid NOT NULL REFERENCES projects ON DELETE CASCADE,
    key_id uuid NOT NULL,
    name text NOT NULL,
    prefix text NOT NULL,
    secret_sha256 bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    PRIMARY KEY (project_id, key_id)
);
CREATE UNIQUE INDEX api_keys_secret ON api_keys (secret_sha256);

CREATE TABLE profiles (
    project_id uuid NOT NULL REFERENCES projects ON DELETE CASCADE,
    profile_id uuid NOT NULL,
    custom_id text,
    -- {"key": {"v": <json value>, "t": "s|n|b|d|l", "at": <epoch ms of the write>}}: the write time
    -- lets a merge keep the most recent value of each attribute.
    attributes jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- Time of the latest event.
    last_seen_at timestamptz,
    -- Latest event or write: what the inactivity purge looks at.
    last_activity_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, profile_id)
);
CREATE UNIQUE INDEX profiles_custom_id ON profiles (project_id, custom_id) WHERE custom_id IS NOT NULL;
CREATE INDEX profiles_activity ON profiles (project_id, last_activity_at);

-- Every identifier that resolves to a profile: its custom ids (the primary one and those of profiles
-- merged into it) and anonymous ids. Resolution always goes through this table.
CREATE TABLE profile_identities (
    project_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('custom', 'anonymous')),
    value text NOT NULL,
    profile_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, kind, value),
    FOREIGN KEY (project_id, profile_id) REFERENCES profiles ON DELETE CASCADE
);
CREATE INDEX profile_identities_profile ON profile_identities (project_id, profile_id);

CREATE TABLE profile_addresses (
    project_id uuid NOT NULL,
    profile_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('email', 'apns_token', 'fcm_token', 'web_push', 'phone')),
    value text NOT NULL,
    -- Kind-specific data: the web-push subscription's keys {"p256dh": ..., "auth": ...}.
    details jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, profile_id, kind, value),
    FOREIGN KEY (project_id, profile_id) REFERENCES profiles ON DELETE CASCADE
);
CREATE INDEX profile_addresses_value ON profile_addresses (project_id, kind, value);

CREATE TABLE profile_subscriptions (
    project_id uuid NOT NULL,
    profile_id uuid NOT NULL,
    channel text NOT NULL CHECK (channel IN ('email', 'push', 'web_push', 'sms')),
    purpose text NOT NULL CHECK (purpose IN ('marketing', 'transactional')),
    topic text NOT NULL DEFAULT '',
    status text NOT NULL CHECK (status IN ('opted_in', 'opted_out')),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, profile_id, channel, purpose, topic),
    FOREIGN KEY (project_id, profile_id) REFERENCES profiles ON DELETE CASCADE
);

CREATE TABLE events (
    project_id uuid NOT NULL,
    profile_id uuid NOT NULL,
    occurred_at timestamptz NOT NULL,
    event_seq bigint GENERATED ALWAYS AS IDENTITY,
    name text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    client_event_id text,
    attributes jsonb NOT NULL DEFAULT '{}',
    -- One index serves a profile's timeline, paging and erasure.
    PRIMARY KEY (project_id, profile_id, occurred_at, event_seq)
);
CREATE UNIQUE INDEX events_client_id ON events (project_id, client_event_id) WHERE client_event_id IS NOT NULL;

-- Audit of merges: which profile absorbed which, and why. Erased together with the target profile.
CREATE TABLE profile_merges (
    project_id uuid NOT NULL,
    merge_id uuid NOT NULL,
    target_profile_id uuid NOT NULL,
    source_profile_id uuid NOT NULL,
    -- The identifiers the source brought ([{"kind": ..., "value": ...}]).
    source_identities jsonb NOT NULL,
    reason text NOT NULL CHECK (reason IN ('identify', 'explicit')),
    merged_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, merge_id),
    FOREIGN KEY (project_id, target_profile_id) REFERENCES profiles ON DELETE CASCADE
);
CREATE INDEX profile_merges_target ON profile_merges (project_id, target_profile_id);

-- "Erase and suppress": salted SHA-256 of each identifier of an erased person (kind:value), so that the
-- person cannot be re-created, while nothing readable about them remains.
CREATE TABLE suppressed_identifiers (
    project_id uuid NOT NULL REFERENCES projects ON DELETE CASCADE,
    identifier_sha256 bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, identifier_sha256)
);
