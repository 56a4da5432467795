-- The pending timers whose key starts with a prefix (kernel.scheduler.jobs: an exit drops its entry's wait,
-- a pause its automation's timers, a merge repoints a profile's): a range on the key in byte order, which
-- the unique (project_id, kind, key) index cannot serve under the database's collation. Without it each
-- such statement read every pending timer, or every timer of the kind ever run in the project (done ones
-- are kept). The key leads (keys are unique-ish prefixes): no other query's plan can pick this index.
CREATE INDEX scheduled_jobs_pending_key ON scheduled_jobs ((key COLLATE "C")) WHERE state = 'pending';
