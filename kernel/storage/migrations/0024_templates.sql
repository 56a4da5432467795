-- Saved templates (kernel.engage.templates): each update writes a new immutable version; the template row
-- holds what versions share (its id and project) and its latest number, which Create and Update advance
-- under the row's lock so that two updates never write the same version.
CREATE TABLE templates (
    project_id uuid NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    template_id uuid NOT NULL,
    latest_version bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, template_id)
);
CREATE TABLE template_versions (
    project_id uuid NOT NULL,
    template_id uuid NOT NULL,
    version bigint NOT NULL,
    name text NOT NULL,
    -- The template in Herald's own form (kernel.engage.templates.stored): languages, fallback, defaults.
    content jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, template_id, version),
    FOREIGN KEY (project_id, template_id) REFERENCES templates (project_id, template_id) ON DELETE CASCADE
);
-- The language of profiles without one (or whose language a template lacks); '' for none.
ALTER TABLE projects ADD COLUMN default_language text NOT NULL DEFAULT '';
