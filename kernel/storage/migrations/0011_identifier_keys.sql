-- Suppression, erasure and export compare an email by its key, lower(address COLLATE "C"), as the bulk
-- outbox dedups it (kernel.profiles.identifier_keys): another spelling of an erased person's address
-- neither brings them back nor escapes erasure.

-- Transactional messages to a raw address are found by the folded address (erasure, export).
DROP INDEX messages_address;
CREATE INDEX messages_address ON messages (project_id, lower(address COLLATE "C")) WHERE profile_id IS NULL;

-- A SendTransactional idempotency record names its recipient, the profile or the raw address, so that
-- erasing the person removes it: its key and stored answer may name them.
ALTER TABLE transactional_requests ADD COLUMN profile_id uuid, ADD COLUMN address text;
-- Records stored until now take them from a message whose id their stored answer holds (a serialised
-- SendTransactionalResponse: each delivery's message id is there as text). Those that sent nothing
-- cannot be linked; they replay for 24 hours only.
UPDATE transactional_requests r
SET profile_id = found.profile_id, address = CASE WHEN found.profile_id IS NULL THEN found.address END
FROM (
    SELECT DISTINCT ON (r.project_id, r.idempotency_key) r.project_id, r.idempotency_key, m.profile_id, m.address
    FROM transactional_requests r
    CROSS JOIN LATERAL regexp_matches(
        encode(r.response, 'escape'), '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', 'g'
    ) AS named(id)
    JOIN messages m ON m.project_id = r.project_id AND m.message_id = named.id[1]::uuid
    WHERE r.response IS NOT NULL
    ORDER BY r.project_id, r.idempotency_key
) AS found
WHERE r.project_id = found.project_id AND r.idempotency_key = found.idempotency_key;
CREATE INDEX transactional_requests_profile ON transactional_requests (project_id, profile_id)
    WHERE profile_id IS NOT NULL;
CREATE INDEX transactional_requests_address ON transactional_requests (project_id, lower(address COLLATE "C"))
    WHERE address IS NOT NULL;

-- Suppression entries stored until now hashed the address as it was spelt. Where a profile still holds
-- that spelling, the hash of its key is added beside the entry (same reason, channel and date), so that
-- the entry blocks every spelling from now on. The others (an erased person's addresses are held by no
-- one) keep blocking the spelling they were taken from: checks try it as well as the key.
CREATE TEMPORARY TABLE respelt ON COMMIT DROP AS
SELECT s.project_id,
       sha256(p.suppression_salt || convert_to(s.kind || ':' || s.value, 'UTF8')) AS spelt,
       sha256(p.suppression_salt || convert_to(s.kind || ':' || lower(s.value COLLATE "C"), 'UTF8')) AS keyed
FROM (SELECT DISTINCT project_id, kind, value FROM profile_addresses
      WHERE kind IN ('email', 'apns_token') AND value <> lower(value COLLATE "C")) AS s
JOIN projects p ON p.project_id = s.project_id;

INSERT INTO delivery_suppressions (project_id, identifier_sha256, reason, channel, created_at)
SELECT d.project_id, r.keyed, d.reason, d.channel, d.created_at
FROM respelt r
JOIN delivery_suppressions d ON d.project_id = r.project_id AND d.identifier_sha256 = r.spelt
ON CONFLICT DO NOTHING;

INSERT INTO suppressed_identifiers (project_id, identifier_sha256, created_at)
SELECT x.project_id, r.keyed, x.created_at
FROM respelt r
JOIN suppressed_identifiers x ON x.project_id = r.project_id AND x.identifier_sha256 = r.spelt
ON CONFLICT DO NOTHING;
