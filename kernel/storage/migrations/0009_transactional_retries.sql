-- Transactional messages are tried again by the sender workers, as bulk ones are: after a temporary
-- failure (backoff, Retry-After, maximum age), and when the kernel that was sending one died before it
-- recorded an outcome.

-- What a transactional message sends (its rendered content and, for web push, the subscription's keys),
-- kept on the message while it may be sent again and cleared once its status is final. A column of the
-- message, so that erasing a person's messages erases it too. NULL for bulk messages (their templates
-- are the send's).
ALTER TABLE messages ADD COLUMN payload jsonb;

-- A transactional message not yet final has next_attempt_at set: when its retry is due, or, while a
-- sender holds it, when its lease runs out (then it is due again). Only those few rows are in this index:
-- bulk messages (send_id set) never enter it, and it covers no column a bulk claim or outcome changes
-- that messages_due does not cover already, so their updates stay HOT.
CREATE INDEX messages_transactional_due ON messages (next_attempt_at)
    WHERE send_id IS NULL AND next_attempt_at IS NOT NULL;

-- Transactional messages left waiting before this migration cannot be sent again: their content was not
-- kept. They are given up (expired), as they would have been at the maximum age.
UPDATE messages SET status = 'expired', next_attempt_at = NULL, lease_until = NULL, updated_at = now(),
       detail = 'its content was not kept (planned before transactional retries existed)'
WHERE send_id IS NULL AND status IN ('retry', 'leased');
