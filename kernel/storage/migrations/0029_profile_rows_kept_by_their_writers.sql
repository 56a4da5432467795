-- A profile's identities, addresses and consent are kept to existing profiles by the code that writes
-- and deletes them, no longer by foreign keys: each of their rows was checked by a query locking its
-- profile, the largest share of PostgreSQL's work per imported profile. Every writer of these tables
-- now creates the profile in the same statement or locks it first (FOR UPDATE or FOR KEY SHARE, which a
-- concurrent erasure or merge waits for or makes skip the row), and erasure and merge delete the rows of
-- the profiles they delete (kernel/profiles/gdpr.py, kernel/profiles/merge.py).
ALTER TABLE profile_identities DROP CONSTRAINT profile_identities_project_id_profile_id_fkey;
ALTER TABLE profile_addresses DROP CONSTRAINT profile_addresses_project_id_profile_id_fkey;
ALTER TABLE profile_subscriptions DROP CONSTRAINT profile_subscriptions_project_id_profile_id_fkey;
