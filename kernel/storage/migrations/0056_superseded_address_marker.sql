-- Whether a newer address of the same kind is in the same profile (newest: the latest updated_at, then
-- the least value): a channel that reaches the newest address only sends to the unmarked row. Kept by the
-- writers of a profile's addresses (kernel.profiles.newest_addresses), so that a bulk send's audience
-- read takes the unmarked rows instead of ranking every profile's addresses for each slice. A row
-- inserted alone in its profile and kind is right unmarked.
ALTER TABLE profile_addresses ADD COLUMN superseded boolean NOT NULL DEFAULT false;

UPDATE profile_addresses a SET superseded = true
FROM (SELECT project_id, profile_id, kind, value,
             row_number() OVER (PARTITION BY project_id, profile_id, kind ORDER BY updated_at DESC, value) AS rank
      FROM profile_addresses) AS r
WHERE r.rank > 1
  AND a.project_id = r.project_id AND a.profile_id = r.profile_id AND a.kind = r.kind AND a.value = r.value;
