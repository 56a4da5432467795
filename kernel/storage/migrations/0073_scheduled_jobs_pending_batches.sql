-- A batch of tracked events (one timer naming several profiles: payload 'profile_ids') runs in due order
-- with its profiles' other timers and with its project's earlier batches, across kernels
-- (kernel.scheduler.jobs). This index finds the pending batches of a project, few at any time, for the
-- claim's checks.
CREATE INDEX scheduled_jobs_pending_batches ON scheduled_jobs (project_id, due_at)
    WHERE state = 'pending' AND payload ? 'profile_ids';
