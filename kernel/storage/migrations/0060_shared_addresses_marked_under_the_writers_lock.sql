-- The marking of shared addresses (kernel.profiles.shared_addresses) in one call: the project's
-- address-writers lock, then the marks, so that the lock is held from the marking to the commit instead
-- of from a write's first address row, and a write of addresses waits for another only there. Each
-- statement of a volatile function reads a snapshot of its own: the marks see every address row that
-- the writers who held the lock before committed.
--
-- marked_kinds and marked_folded: the (kind, folded address) pairs to mark, those another row also holds.
-- Each is probed in the folded-address index on its own (the OFFSET 0 keeps the probe a subquery run per
-- address, and the rows are then updated by their ctid): a join of the shared addresses to the table
-- could be planned as a scan of all the project's addresses, and during an import the table's statistics
-- are those of before (hence also no sequential scans at all, the probes included).
CREATE FUNCTION mark_shared_addresses(
    project uuid, writers_lock bigint, marked_kinds text[], marked_folded text[]
) RETURNS void LANGUAGE plpgsql SET enable_seqscan = off AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(writers_lock);
    WITH shared AS (
        SELECT h.kind, h.folded
        FROM (SELECT DISTINCT kind, folded FROM unnest(marked_kinds, marked_folded) AS u(kind, folded)) h
        WHERE EXISTS (SELECT FROM profile_addresses o
                      WHERE o.project_id = project AND o.kind = h.kind AND o.folded = h.folded OFFSET 1))
    UPDATE profile_addresses a SET shared = true
    WHERE a.ctid = any(ARRAY(
        SELECT r.ctid FROM shared s
        CROSS JOIN LATERAL (SELECT o.ctid FROM profile_addresses o
                            WHERE o.project_id = project AND o.kind = s.kind AND o.folded = s.folded
                              AND NOT o.shared OFFSET 0) AS r));
END $$;
