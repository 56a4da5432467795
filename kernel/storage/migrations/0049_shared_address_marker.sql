-- Whether another row may hold the address's folded form (another profile, or another spelling in the
-- same profile): set by the writers that add addresses (kernel.profiles.shared_addresses), so that a bulk
-- send's audience read probes the folded-address index for the few marked rows instead of for every row.
-- It may stay true after the other holders left (a marked row only costs the read that probe).
ALTER TABLE profile_addresses ADD COLUMN shared boolean NOT NULL DEFAULT false;

UPDATE profile_addresses a SET shared = true
FROM (SELECT project_id, kind, folded FROM profile_addresses
      GROUP BY project_id, kind, folded HAVING count(*) > 1) AS s
WHERE a.project_id = s.project_id AND a.kind = s.kind AND a.folded = s.folded;
