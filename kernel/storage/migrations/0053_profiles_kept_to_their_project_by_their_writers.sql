-- A profile is kept to its project by the statement that creates it (kernel/profiles/refs.py locks the
-- project's row once for the whole statement) and by the deletion of a project (the trigger below), no
-- longer by a foreign key checked for each profile created.
ALTER TABLE profiles DROP CONSTRAINT profiles_project_id_fkey;

-- What ON DELETE CASCADE did, and the profile rows that since migration 0029 no foreign key removes
-- with their profile. The tables that still reference profiles follow them by their own cascade.
CREATE FUNCTION delete_project_profiles() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM profile_identities WHERE project_id = OLD.project_id;
    DELETE FROM profile_addresses WHERE project_id = OLD.project_id;
    DELETE FROM profile_subscriptions WHERE project_id = OLD.project_id;
    DELETE FROM profiles WHERE project_id = OLD.project_id;
    RETURN OLD;
END $$;
CREATE TRIGGER projects_delete_profiles AFTER DELETE ON projects
    FOR EACH ROW EXECUTE FUNCTION delete_project_profiles();

-- A custom id is set on a profile only together with its identity ('custom', value) pointing at that
-- profile (created in the same statement, claimed by identify, or taken over by a merge's target), and
-- the identities' primary key holds one row per (project, kind, value): two profiles never share one.
-- No statement reads profiles by custom id; the index was one more entry per imported profile.
DROP INDEX profiles_custom_id;
