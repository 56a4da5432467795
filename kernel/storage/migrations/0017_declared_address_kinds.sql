-- Address kinds and consent scopes are declared by the loaded channel plugins (herald_address_kinds,
-- ChannelSpec.consent_scope), not listed by the kernel: the lists checked here since 0001 give way to a
-- check of the names' form (kernel.channels.kinds.KIND_NAME_PATTERN). Every row stored so far passes it.
ALTER TABLE profile_addresses DROP CONSTRAINT profile_addresses_kind_check;
ALTER TABLE profile_addresses ADD CONSTRAINT profile_addresses_kind_form
    CHECK (kind ~ '^[a-z][a-z0-9_]{0,31}$');

ALTER TABLE profile_subscriptions DROP CONSTRAINT profile_subscriptions_channel_check;
ALTER TABLE profile_subscriptions ADD CONSTRAINT profile_subscriptions_channel_form
    CHECK (channel ~ '^[a-z][a-z0-9_]{0,31}$');
