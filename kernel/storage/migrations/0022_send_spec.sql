-- A bulk send's definition in Herald's own versioned form (kernel.delivery.send_spec), written at CreateSend
-- from the checked request: workers and the API no longer parse the public CreateSendRequest, whose
-- contract moves.
ALTER TABLE sends ADD COLUMN spec jsonb;
-- The requests stored by the sends created before: SQL cannot parse them, so the kernel converts them when
-- it starts (kernel.delivery.send_spec_upgrade) and empties `definition`, for a later migration to drop.
ALTER TABLE sends ALTER COLUMN definition DROP NOT NULL;
ALTER TABLE sends ADD CONSTRAINT sends_spec_or_definition CHECK (spec IS NOT NULL OR definition IS NOT NULL);
