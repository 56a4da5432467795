-- Outbox tuning, measured with benchmarks/campaign_bench.py (PostgreSQL time per bulk message).

-- Room in every page for a new version of each row in it: the claim and the outcome of a bulk message
-- update it twice, and both updates stay HOT (no index entry written) only if the new version fits in the
-- same page. At 60 % a third of the rows of a freshly filled page did not fit (each then wrote five index
-- entries); at 45 % all fit (18 -> 7 microseconds per outcome update).
ALTER TABLE messages SET (fillfactor = 45);

-- The dedup key folded with lower(... COLLATE "C"): ASCII-only case folding, exactly as translate() did
-- and as sender_ext.dedup_key folds an email, whatever the database's locale, at a fraction of the cost
-- per row (translate() builds its character map on every call).
DROP INDEX messages_send_address;
CREATE UNIQUE INDEX messages_send_address
    ON messages (project_id, send_id, channel, lower(address COLLATE "C"))
    WHERE send_id IS NOT NULL;

-- Messages are looked up by address only when they have no profile (a transactional message to a raw
-- address, found again at erasure and export); bulk messages always have one, and skip this index.
DROP INDEX messages_address;
CREATE INDEX messages_address ON messages (project_id, address) WHERE profile_id IS NULL;
