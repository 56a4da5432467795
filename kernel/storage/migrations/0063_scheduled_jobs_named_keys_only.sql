-- A timer scheduled to run at once (kernel.scheduler.jobs.schedule_now: a tracked event automations
-- follow, a profile's attribute change or segment check) is named by its own id (key = job_id::text):
-- nothing schedules it a second time under that key, nor looks it up by a key prefix. Such timers,
-- one per tracked event, no longer enter the two indexes on keys: the uniqueness of a name (which
-- ON CONFLICT (project_id, kind, key) WHERE key <> job_id::text infers) and the pending timers by key
-- prefix (whose statements repeat the condition, so that the planner may use it).
ALTER TABLE scheduled_jobs DROP CONSTRAINT scheduled_jobs_project_id_kind_key_key;
CREATE UNIQUE INDEX scheduled_jobs_named ON scheduled_jobs (project_id, kind, key) WHERE key <> job_id::text;
DROP INDEX scheduled_jobs_pending_key;
CREATE INDEX scheduled_jobs_pending_key ON scheduled_jobs ((key COLLATE "C"))
    WHERE state = 'pending' AND key <> job_id::text;
