-- Each project's configuration of each channel plugin: credentials and sender identity, as JSON sealed
-- with AES-256-GCM (kernel.secret_box), the project and channel being the authenticated context.
CREATE TABLE channel_configs (
    project_id uuid NOT NULL REFERENCES projects ON DELETE CASCADE,
    channel text NOT NULL,
    sealed_config bytea NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, channel)
);
