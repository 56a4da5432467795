-- A bulk message's log row takes the time it is written (clock_timestamp(), volatile) instead of the time its
-- writer gives: kernel.delivery.slice_outcomes leaves the column out of its COPY, and a volatile default makes
-- PostgreSQL insert the rows one by one rather than through COPY's buffers of up to 1000 rows. On
-- PostgreSQL 16, each buffered row holds a tuple slot whose pin of the table's row type the transaction's
-- resource owner tracks in a hash whose every entry is the same pointer, so adding and releasing them is
-- quadratic in the buffer's size: the buffers cost more than the row-by-row inserts they save.
-- ALTER on the partitioned table reaches its partitions; kernel.delivery.message_log's new days copy it.
ALTER TABLE message_log ALTER COLUMN logged_at SET DEFAULT clock_timestamp();
