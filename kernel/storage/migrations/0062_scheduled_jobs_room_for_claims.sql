-- A timer's claim (kernel.scheduler.jobs: its lease) changes no indexed column, so its new row version
-- can stay on the timer's page and write no index entry (a HOT update) -- if the page has room for it.
-- Filled to the brim by the inserts (the tracked events' jobs come in batches, each claimed moments
-- after), every claim wrote its version on another page and an entry in each of the table's five
-- indexes. Half of each page is left to the claims.
ALTER TABLE scheduled_jobs SET (fillfactor = 50);
