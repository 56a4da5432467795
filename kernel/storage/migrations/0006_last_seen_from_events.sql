-- A profile's last-seen time is its newest event's time, read from the events' primary key when asked
-- for (kernel.profiles.timeline.LAST_SEEN). Stored, it cost one profile row rewrite per event.
ALTER TABLE profiles DROP COLUMN last_seen_at;
