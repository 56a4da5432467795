-- Automation triggers on profiles rather than events (kernel.engage.automations.watches): what an ACTIVE
-- automation's latest version follows. Profile writes read the project's 'attribute' and 'segment' rows in
-- their own transaction (usually none: one index probe).
CREATE TABLE automation_watches (
    project_id uuid NOT NULL,
    automation_id uuid NOT NULL,
    -- 'attribute' (subject: the key), 'segment' (subject: the segment id) or 'date' (subject: the key).
    kind text NOT NULL CHECK (kind IN ('attribute', 'segment', 'date')),
    subject text NOT NULL,
    PRIMARY KEY (project_id, automation_id),
    FOREIGN KEY (project_id, automation_id) REFERENCES automations ON DELETE CASCADE
);
CREATE INDEX automation_watches_kind ON automation_watches (project_id, kind);

-- The members of the segment a segment-triggered automation follows, as last evaluated: a profile enters
-- ("entered" or "left") on the transition, once.
CREATE TABLE automation_segment_members (
    project_id uuid NOT NULL,
    automation_id uuid NOT NULL,
    profile_id uuid NOT NULL,
    PRIMARY KEY (project_id, automation_id, profile_id),
    FOREIGN KEY (project_id, automation_id) REFERENCES automations ON DELETE CASCADE,
    FOREIGN KEY (project_id, profile_id) REFERENCES profiles ON DELETE CASCADE
);

-- A date attribute written as text ("YYYY-MM-DD") read as a date, NULL when it is none (e.g. 2023-02-30):
-- a date trigger's scan must not fail on one profile's odd value.
CREATE FUNCTION automation_text_date(value text) RETURNS date LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF value !~ '^\d{4}-\d{2}-\d{2}$' THEN
        RETURN NULL;
    END IF;
    RETURN value::date;
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$;
