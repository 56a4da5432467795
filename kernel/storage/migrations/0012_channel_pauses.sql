-- Channels Herald stopped sending on in a project because a send's provider answers suggested a wrong
-- configuration (APNs BadDeviceToken, FCM SENDER_ID_MISMATCH at a high rate, see FailureReason
-- CONFIG_SUSPECT). Every sender worker reads this table, so a pause holds in all of them; it is lifted
-- by ResumeSend of a send on the channel or by setting the channel's configuration again.
CREATE TABLE channel_pauses (
    project_id uuid NOT NULL REFERENCES projects ON DELETE CASCADE,
    channel text NOT NULL,
    -- Why, for humans: the counts and the provider's words (shown by GetSend, logged).
    reason text NOT NULL,
    -- The send whose answers tripped the pause (it may have been deleted with its project since).
    send_id uuid NOT NULL,
    paused_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, channel)
);
