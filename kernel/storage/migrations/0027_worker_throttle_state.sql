-- Each sender worker's per-email-domain throttle as of its last heartbeat (its share of every domain's
-- budget, and the domains it limits or slowed down), so that any process can show the deployment's
-- throttling merged across the live workers (kernel.delivery.throttle_board).
ALTER TABLE workers ADD COLUMN throttle jsonb NOT NULL DEFAULT '{}';
