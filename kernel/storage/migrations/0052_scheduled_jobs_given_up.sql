-- A timer whose handler keeps failing is given up after HERALD_SCHEDULER_MAX_ATTEMPTS runs (kernel.scheduler):
-- left pending, it would be tried again every lease forever and hold its profile's later timers back (a
-- profile's timers run in due order). A given-up timer stays, with the error of its last run, for the
-- operator to read; its key is never reused.
ALTER TABLE scheduled_jobs
    DROP CONSTRAINT scheduled_jobs_state_check,
    ADD CONSTRAINT scheduled_jobs_state_check CHECK (state IN ('pending', 'done', 'failed')),
    ADD COLUMN last_error text;
