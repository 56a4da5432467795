-- What happened at an automation's steps, appended as it happens (kernel.engage.automations.facts): the
-- messages its send steps stored, and the facts its statistics count per step (a checkpoint passed, a
-- message capped or delayed by a pressure rule, ...). Append-only, so that entries walking at thousands a
-- second never wait on a shared counter row; the statistics count them by step. A fact belongs to its
-- entry: an erased profile's entries take their facts with them.
CREATE TABLE automation_step_facts (
    project_id uuid NOT NULL,
    automation_id uuid NOT NULL,
    version integer NOT NULL,
    step_id text NOT NULL,
    entry_id uuid NOT NULL,
    fact_id bigint GENERATED ALWAYS AS IDENTITY,
    fact text NOT NULL,
    -- The message a 'message' fact stored: its feedback (delivered, opened, ...) is the step's.
    message_id uuid,
    at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, automation_id, entry_id, fact_id),
    FOREIGN KEY (project_id, automation_id, entry_id) REFERENCES automation_entries ON DELETE CASCADE
);
CREATE INDEX automation_step_facts_step ON automation_step_facts (project_id, automation_id, version, step_id, fact);
CREATE UNIQUE INDEX automation_step_facts_message ON automation_step_facts (project_id, message_id)
    WHERE message_id IS NOT NULL;
