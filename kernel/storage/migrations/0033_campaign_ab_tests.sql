-- A campaign's A/B test, per occurrence (kernel.engage.campaigns.ab): the variants' sends, the holdout
-- counted when they were created, and the winner chosen once, with the metric values that chose it.
CREATE TABLE campaign_ab_tests (
    project_id uuid NOT NULL,
    campaign_id uuid NOT NULL,
    occurrence_key text NOT NULL,
    -- In the order of the test's variants.
    variant_send_ids uuid[] NOT NULL,
    holdout_profiles bigint NOT NULL,
    decide_at timestamptz NOT NULL,
    -- The winner's position in the variants; NULL until chosen.
    winner integer,
    -- Each variant's metric value when the winner was chosen.
    chosen_values double precision[],
    decided_at timestamptz,
    -- The rest of the audience's send; NULL until the winner is chosen, or when no one is left.
    remainder_send_id uuid,
    CHECK ((winner IS NULL) = (decided_at IS NULL)),
    PRIMARY KEY (project_id, campaign_id, occurrence_key),
    FOREIGN KEY (project_id, campaign_id) REFERENCES campaigns ON DELETE CASCADE
);
