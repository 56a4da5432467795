-- An entry a walk lets in is inserted where its first walk stops (one row version instead of an insert
-- and a move: kernel.engage.automations.store.move_together), after the facts of the steps it took on
-- the way (a send step's message): their entry is checked when the walk's transaction commits.
ALTER TABLE automation_step_facts
    ALTER CONSTRAINT automation_step_facts_project_id_automation_id_entry_id_fkey DEFERRABLE INITIALLY DEFERRED;
