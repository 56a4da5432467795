-- Deleting a profile (erasure, purge, merge) removes its segment memberships through the foreign key to
-- profiles: without an index by profile, each deleted profile scanned every automation's members.
CREATE INDEX automation_segment_members_profile ON automation_segment_members (project_id, profile_id);
