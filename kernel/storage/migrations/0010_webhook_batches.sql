-- The credential Herald generates for each project's configuration of a channel, checked on the
-- provider's webhook calls (SparkPost's basic-auth password, a gateway's token); sealed like the
-- configuration, with "<project>/<channel>/webhook" as the authenticated context. NULL for a
-- configuration stored before webhooks were authenticated, until a kernel first reads it.
ALTER TABLE channel_configs ADD COLUMN sealed_webhook_secret bytea;

-- Verified webhook calls, stored as received and acknowledged at once; kernels apply them from here
-- (claimed with FOR UPDATE SKIP LOCKED, deleted in the transaction that applied them), so a burst of
-- large posts waits here instead of in the API's event loop, and survives a restart.
CREATE TABLE webhook_batches (
    project_id uuid NOT NULL REFERENCES projects ON DELETE CASCADE,
    batch_id bigint GENERATED ALWAYS AS IDENTITY,
    channel text NOT NULL,
    -- As received, query included (percent-encoded: a NUL byte in it stays text-safe).
    url text NOT NULL,
    -- Without credentials (Authorization, cookies): parsing needs none, the call was verified already.
    headers jsonb NOT NULL,
    body bytea NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    -- Failed applications so far, and when the next may be tried (a database error, a plugin's bug).
    attempts integer NOT NULL DEFAULT 0,
    not_before timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, batch_id)
);
CREATE INDEX webhook_batches_due ON webhook_batches (not_before, batch_id);
