"""UpdateProject's field mask (AIP-134): which fields of the given project are written."""

from __future__ import annotations

from herald.v1 import projects_pb2 as pb
from kernel.api.field_masks import masked_fields
from kernel.profiles.conventions import check_language_tag
from kernel.projects import ProjectChanges, check_name, check_retention, check_timezone

_NAME = "name"
_TIMEZONE = "settings.timezone"
_RETENTION = "settings.inactivity_retention"
_LANGUAGE = "settings.default_language"
#: Each accepted mask path, and the updatable fields it names.
_PATHS = {
    _NAME: (_NAME,),
    _TIMEZONE: (_TIMEZONE,),
    _RETENTION: (_RETENTION,),
    _LANGUAGE: (_LANGUAGE,),
    "settings": (_TIMEZONE, _RETENTION, _LANGUAGE),
    "*": (_NAME, _TIMEZONE, _RETENTION, _LANGUAGE),
}


def project_changes(request: pb.UpdateProjectRequest) -> ProjectChanges:
    """The changes the mask names, checked; without a mask, those of the fields set to a non-default value
    (so a field can be reset to its default only through a mask)."""
    fields = (
        masked_fields(request.update_mask.paths, _PATHS)
        if request.update_mask.paths
        else _populated_fields(request.project)
    )
    project = request.project
    return ProjectChanges(
        name=check_name(project.name, "project.name") if _NAME in fields else None,
        timezone=check_timezone(project.settings.timezone, "project.settings.timezone")
        if _TIMEZONE in fields
        else None,
        inactivity_retention_days=check_retention(
            project.settings.inactivity_retention, "project.settings.inactivity_retention"
        )
        if _RETENTION in fields
        else None,
        default_language=default_language(project.settings, "project.settings.default_language")
        if _LANGUAGE in fields
        else None,
    )


def default_language(settings: pb.ProjectSettings, field: str) -> str:
    """The project's default language, checked; "" (none) when unset."""
    tag = settings.default_language
    return check_language_tag(tag, field) if tag else ""


def _populated_fields(project: pb.Project) -> set[str]:
    retention = project.settings.inactivity_retention
    values = {
        _NAME: project.name,
        _TIMEZONE: project.settings.timezone,
        _RETENTION: retention.seconds or retention.nanos,
        _LANGUAGE: project.settings.default_language,
    }
    return {field for field, value in values.items() if value}
