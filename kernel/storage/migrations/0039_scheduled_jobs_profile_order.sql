-- A profile's timers run in due order across kernels (kernel.scheduler.jobs): a claim leaves a timer that
-- names a profile while an earlier one of that profile is pending and not the claiming scheduler's. This
-- index finds that earlier timer for each candidate.
CREATE INDEX scheduled_jobs_profile_order ON scheduled_jobs (project_id, (payload ->> 'profile_id'), due_at)
    WHERE state = 'pending' AND payload ? 'profile_id';
