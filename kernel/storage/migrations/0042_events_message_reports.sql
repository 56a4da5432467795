-- Provider reports on Herald's messages, found by message: the herald.message.<kind> events feedback writes
-- on the recipient's timeline name their message (attribute message_id). Automation statistics count each
-- send step's messages delivered, bounced, opened and clicked, one message at a time; without this index
-- each message's reports are looked for in its recipient's whole timeline (every event the customer
-- tracked since the message), with it they are one probe, and still found after a merge moved the events
-- to another profile. Partial: only report events get an entry (one per provider report), so the events a
-- customer tracks write nothing here.
CREATE INDEX events_message_reports ON events (project_id, ((attributes -> 'message_id' ->> 'v')))
    INCLUDE (name) WHERE name LIKE 'herald.message.%';
