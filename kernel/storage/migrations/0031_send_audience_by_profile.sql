-- A send by segments writes its whole audience into send_audience (kernel.delivery.segment_audience), so
-- the table holds a project's campaigns' audiences. Deleting a profile (erasure, merge) removes its rows
-- through the foreign key's cascade, which looks them up by (project_id, profile_id): without this index,
-- by reading every row of the project's audiences.
CREATE INDEX send_audience_profile ON send_audience (project_id, profile_id);
