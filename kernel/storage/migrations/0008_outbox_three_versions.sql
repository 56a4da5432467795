-- Room for all three versions of a bulk message in its page (its insert, its claim, its outcome), measured
-- with benchmarks/campaign_bench.py. While a send's outbox is filled, each chunk's transaction keeps the
-- versions its snapshot may see for a second or so, so a message claimed and sent within that second has
-- three versions in its page at once. At 35 % three versions of every row of a page (about 200 bytes
-- each with its header and line pointer) need 105 % of it: the last rows' outcomes found no room, were not
-- HOT, and wrote an entry in every index (HOT ratio 0.82-0.84 while filling). At 30 % they take 90 %.
ALTER TABLE messages SET (fillfactor = 30);
