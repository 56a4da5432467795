-- An outbox written and read in order, measured with benchmarks/campaign_bench.py.

-- A bulk message's id is its send's id (time-ordered, UUIDv7) with the message's position in the send in
-- its last 48 bits: still fixed when the row is written, and unique (the first 10 bytes of a send id are
-- unique, see below; transactional messages have random version-4 ids). Written in position order, a
-- send's messages land at the right-hand edge of the primary key instead of at random places in it
-- (which cost a cache miss and, over time, a page split per message), and claims read them in that order
-- through the primary key, so no separate position index is written for each message.
CREATE FUNCTION bulk_message_id(send_id uuid, seq bigint) RETURNS uuid
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT encode(substr(uuid_send(send_id), 1, 10) || substr(int8send(seq), 3), 'hex')::uuid $$;
CREATE UNIQUE INDEX sends_message_id_prefix ON sends (substr(uuid_send(send_id), 1, 10));

-- Messages planned before this migration take their ordered ids (none of them has left yet).
UPDATE messages SET message_id = bulk_message_id(send_id, seq)
WHERE send_id IS NOT NULL AND status = 'planned';
DROP INDEX messages_send_seq;

-- A person's messages, for erasure and export: bulk ones through their send (written in the order the
-- outbox fills, next to each other, rather than among every earlier message of the same people).
DROP INDEX messages_profile;
CREATE INDEX messages_send_profile ON messages (project_id, send_id, profile_id) WHERE send_id IS NOT NULL;
CREATE INDEX messages_profile ON messages (project_id, profile_id)
    WHERE send_id IS NULL AND profile_id IS NOT NULL;

-- Dedup without the project in the key (a send id is unique on its own): a smaller index, written at a
-- random place once per bulk message.
DROP INDEX messages_send_address;
CREATE UNIQUE INDEX messages_send_address ON messages (send_id, channel, lower(address COLLATE "C"))
    WHERE send_id IS NOT NULL;

-- Room for two more versions of each row next to it (its claim and its outcome), so that both updates
-- stay HOT even when the first version cannot be pruned yet: while an outbox is being filled, the
-- filler's open transaction keeps the versions its snapshot may see, and at 45 % about a third of the
-- outcome updates then found no room in the page and wrote an entry in every index.
ALTER TABLE messages SET (fillfactor = 35);
