-- A send's figures per channel and per hour (kernel.delivery.channel_counts, kernel.delivery.send_feedback),
-- for GetSend's `by_channel` and the StatsService. Like the slices' own counters, they are kept per slice, so
-- that workers recording outcomes of one send side by side never wait on each other's rows; they are
-- written in the transactions that write the slices' counters, so that a send's channels add up to it.

-- What each slice's audience held, per channel: set (not added) when the slice is read and when it is done,
-- as the slice's own figures are. `read_at`: when it was read, the hour its audience is counted in.
CREATE TABLE send_channel_audiences (
    project_id uuid NOT NULL,
    send_id uuid NOT NULL,
    slice_no integer NOT NULL,
    channel text NOT NULL,
    read_at timestamptz NOT NULL,
    planned integer NOT NULL DEFAULT 0,
    suppressed integer NOT NULL DEFAULT 0,
    duplicates integer NOT NULL DEFAULT 0,
    not_consented integer NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, send_id, slice_no, channel),
    FOREIGN KEY (project_id, send_id) REFERENCES sends ON DELETE CASCADE
);

-- What became of each slice's messages, per channel and hour (UTC) of the record: added to as outcomes are
-- recorded. A slice's messages go out within minutes, so it has a row per channel, and one more for each
-- later hour its retries end in.
CREATE TABLE send_channel_outcomes (
    project_id uuid NOT NULL,
    send_id uuid NOT NULL,
    slice_no integer NOT NULL,
    channel text NOT NULL,
    hour timestamptz NOT NULL,
    sent integer NOT NULL DEFAULT 0,
    failed integer NOT NULL DEFAULT 0,
    expired integer NOT NULL DEFAULT 0,
    cancelled integer NOT NULL DEFAULT 0,
    retries integer NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, send_id, slice_no, channel, hour),
    FOREIGN KEY (project_id, send_id) REFERENCES sends ON DELETE CASCADE
);

-- Sends of a single channel counted before: their slices' figures are that channel's (counted in the hour
-- the slice was done). Those of several channels cannot be told apart any more and get no rows: their
-- `by_channel` covers what is counted from now on.
INSERT INTO send_channel_audiences (project_id, send_id, slice_no, channel, read_at, planned, suppressed,
                                    duplicates, not_consented)
SELECT l.project_id, l.send_id, l.slice_no, s.channels[1], coalesce(l.done_at, l.created_at), l.planned,
       l.suppressed, l.duplicates, l.not_consented
FROM send_slices l JOIN sends s USING (project_id, send_id)
WHERE cardinality(s.channels) = 1;
INSERT INTO send_channel_outcomes (project_id, send_id, slice_no, channel, hour, sent, failed, expired,
                                   cancelled, retries)
SELECT l.project_id, l.send_id, l.slice_no, s.channels[1],
       date_trunc('hour', coalesce(l.done_at, l.created_at), 'UTC'), l.sent, l.failed, l.expired,
       l.cancelled, l.retries
FROM send_slices l JOIN sends s USING (project_id, send_id)
WHERE cardinality(s.channels) = 1;

-- Feedback per hour (UTC) of the provider's report, for the time series; send_feedback keeps the totals.
-- `messages`: how many of the events were the first of their kind for their message (kept for opens and
-- clicks, which providers report again each time a message is opened or clicked; 0 for the other kinds).
CREATE TABLE send_feedback_hours (
    project_id uuid NOT NULL,
    send_id uuid NOT NULL,
    channel text NOT NULL,
    kind text NOT NULL,
    hour timestamptz NOT NULL,
    events bigint NOT NULL,
    messages bigint NOT NULL,
    PRIMARY KEY (project_id, send_id, channel, kind, hour),
    FOREIGN KEY (project_id, send_id) REFERENCES sends ON DELETE CASCADE
);
-- The messages that were opened or clicked at least once: what makes `messages` count each message once.
-- A row per message opened or clicked, written by every webhook batch: no foreign key, whose check runs
-- per row; nothing deletes a send (a deletion of projects, were it added, must delete these rows too).
CREATE TABLE send_feedback_messages (
    project_id uuid NOT NULL,
    send_id uuid NOT NULL,
    message_id uuid NOT NULL,
    kind text NOT NULL,
    PRIMARY KEY (project_id, send_id, message_id, kind)
);
-- The opens and clicks counted before could not be told apart per message: their events stand for them.
ALTER TABLE send_feedback ADD COLUMN messages bigint NOT NULL DEFAULT 0;
UPDATE send_feedback SET messages = events WHERE kind IN ('opened', 'clicked');
