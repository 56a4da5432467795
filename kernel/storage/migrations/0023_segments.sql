-- Saved segments (kernel.engage.segments.store): a named condition over profiles, in Herald's own
-- versioned JSON form (kernel.engage.segments.stored). Each change of the condition is a new version, kept:
-- a send that used an earlier one stays explained.
CREATE TABLE segments (
    project_id uuid NOT NULL REFERENCES projects ON DELETE CASCADE,
    segment_id uuid NOT NULL,
    name text NOT NULL,
    description text NOT NULL DEFAULT '',
    version bigint NOT NULL,
    -- The saved segments the current condition references: a referenced segment cannot be deleted.
    references_ids uuid[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, segment_id)
);
CREATE INDEX segments_listing ON segments (project_id, created_at, segment_id);

CREATE TABLE segment_versions (
    project_id uuid NOT NULL,
    segment_id uuid NOT NULL,
    version bigint NOT NULL,
    condition jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, segment_id, version),
    FOREIGN KEY (project_id, segment_id) REFERENCES segments ON DELETE CASCADE
);

-- A send whose audience is a frozen segment selection (in its spec): the slices are ranges of the project's
-- profiles, filtered by the selection's predicate when read.
ALTER TABLE sends DROP CONSTRAINT sends_audience_check;
ALTER TABLE sends ADD CONSTRAINT sends_audience_check CHECK (audience IN ('list', 'all', 'segment'));

-- Event conditions ("did purchase at least twice in 30 days") read the events of one name in a window for
-- every profile at once: this index answers them without reading the events' rows.
CREATE INDEX events_name_time ON events (project_id, name, occurred_at) INCLUDE (profile_id);
