-- The settling of the newest addresses (kernel.profiles.newest_addresses) in one call, as the marking of
-- shared ones (migration 0060): the project's address-writers lock, then the marks, so that a writer
-- waits for another only from its marking to its commit, and its settling statement (a snapshot of its
-- own, taken once the lock is held) sees every address row that the writers before it committed.
--
-- Only the rows whose mark changes are updated, by their ctid; each profile's rows are read on their own
-- (the OFFSET 0 keeps the read a subquery run per profile, through the primary key), in the order that
-- migration 0056 filled the column with: the latest updated_at, then the least value. Planned with
-- neither sequential nor bitmap scans: during an import the table's statistics are those of before it
-- (a nearly empty table), and the profiles' rows were then read by a scan of all the project's addresses.
CREATE FUNCTION settle_newest_addresses(project uuid, writers_lock bigint, settled_profiles uuid[])
RETURNS void LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(writers_lock);
    UPDATE profile_addresses t SET superseded = NOT t.superseded
    WHERE t.ctid = any(ARRAY(
        SELECT r.ctid FROM unnest(settled_profiles) AS p(profile_id)
        CROSS JOIN LATERAL (
            SELECT a.ctid, a.superseded,
                   row_number() OVER (PARTITION BY a.profile_id, a.kind
                                      ORDER BY a.updated_at DESC, a.value) > 1 AS outranked
            FROM profile_addresses a
            WHERE a.project_id = project AND a.profile_id = p.profile_id OFFSET 0) AS r
        WHERE r.superseded <> r.outranked));
END $$;
