-- The message log's day tables are appended to and dropped whole (kernel.delivery.message_log): the vacuums
-- PostgreSQL triggers by the count of inserted rows only mark their new pages all-visible, which no reader of
-- the log uses, and leave young rows unfrozen. New day tables are created without them; this turns them off
-- on the days created before. (A partitioned table takes no storage parameters: each day is set.)
DO $$
DECLARE
    day regclass;
BEGIN
    FOR day IN
        SELECT i.inhrelid::regclass FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'message_log'::regclass AND c.relname ~ '^message_log_[0-9]{8}$'
    LOOP
        EXECUTE format('ALTER TABLE %s SET (autovacuum_vacuum_insert_threshold = -1)', day);
    END LOOP;
END
$$;
