-- Waits for an event (kernel.engage.automations.wait_kinds): event ingestion also looks for the events that a
-- wait_for_event step of an automation's versions awaits ('await'), so that a profile waiting there moves on
-- as soon as its event is tracked.
ALTER TABLE automation_triggers DROP CONSTRAINT automation_triggers_role_check;
ALTER TABLE automation_triggers ADD CONSTRAINT automation_triggers_role_check
    CHECK (role IN ('enter', 'exit', 'await'));
