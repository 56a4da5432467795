-- Address kinds and consent scopes are declared by the loaded channel plugins (herald_address_kinds,
-- ChannelSpec.consent_scope), not listed by the kernel: the lists checked here since 0001 give way to a
-- check of the names' form (kernel.channels.kinds.KIND_NAME_PATTERN). Every row stored so far passes it.
ALTER TABLE profile_addresses DROP CONSTRAINT profile_addresses_kind_check;
ALTER TABLE profile_addresses ADD CONSTRAINT profile_addresses_kind_form
    CHECK (kind ~ '^[a-z][a-z0-9_]{0,31}$');

ALTER TABLE profile_subscriptions DROP CONSTRAINT profile_subscriptions_channel_check;
ALTER TABLE profile_subscriptions ADD CONSTRAINT profile_subscriptions_channel_form
    CHECK (channel ~ '^[a-z][a-z0-9_]{0,31}$');

-- How each address kind is compared (kernel.profiles.identifier_keys): folded to ASCII lower case or as
-- stored. Suppression hashes are computed with this rule and kept, so a kind's rule, once recorded, is
-- never changed: a kernel whose plugins declare another refuses to start. The built-in kinds are recorded
-- with the rule every hash stored so far was computed with (since 0011); others as kernels declare them.
CREATE TABLE address_kind_keys (
    kind text PRIMARY KEY,
    folds_case boolean NOT NULL
);
INSERT INTO address_kind_keys (kind, folds_case) VALUES
    ('email', true), ('apns_token', true), ('fcm_token', false), ('web_push', false), ('phone', false);

-- The budget of a channel's default rate (Capabilities.default_rate_per_second) in a project: a token
-- bucket every sender worker and SendTransactional call of any kernel draws from, one statement per
-- provider batch (kernel.delivery.channel_rates). Times are Unix seconds, as the workers' clocks give them.
CREATE TABLE channel_rate_budgets (
    project_id uuid NOT NULL REFERENCES projects ON DELETE CASCADE,
    channel text NOT NULL,
    -- Messages that may go now (at most a second's worth), as of refilled_at.
    tokens double precision NOT NULL,
    refilled_at double precision NOT NULL,
    -- What the last draw was granted (the statement's answer).
    granted integer NOT NULL,
    PRIMARY KEY (project_id, channel)
);
