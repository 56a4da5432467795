-- Provider feedback on bulk sends, per send, channel and kind (delivered, opened, clicked, bounced,
-- unsubscribed, ...): the message log is append-only and narrow, so a send's statistics are counted as
-- the webhooks arrive (kernel.delivery.send_feedback), one statement per webhook batch, and read by GetSend.
CREATE TABLE send_feedback (
    project_id uuid NOT NULL,
    send_id uuid NOT NULL,
    channel text NOT NULL,
    kind text NOT NULL,
    events bigint NOT NULL,
    PRIMARY KEY (project_id, send_id, channel, kind),
    FOREIGN KEY (project_id, send_id) REFERENCES sends ON DELETE CASCADE
);

-- Erasure deletes a person's claims of shared addresses by profile (kernel.profiles.gdpr).
CREATE INDEX send_address_claims_profile ON send_address_claims (project_id, profile_id);
