"""UpdateProject's field mask (AIP-134): which fields of the given project are written."""

from __future__ import annotations

from herald.v1 import projects_pb2 as pb
from kernel.api.field_masks import masked_fields
from kernel.projects import ProjectChanges, check_name, check_retention, check_timezone

_NAME = "name"
_TIMEZONE = "settings.timezone"
_RETENTION = "settings.inactivity_retention"
#: Each accepted mask path, and the updatable fields it names.
_PATHS = {
    _NAME: (_NAME,),
    _TIMEZONE: (_TIMEZONE,),
    _RETENTION: (_RETENTION,),
    "settings": (_TIMEZONE, _RETENTION),
    "*": (_NAME, _TIMEZONE, _RETENTION),
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
    )


def _populated_fields(project: pb.Project) -> set[str]:
    retention = project.settings.inactivity_retention
    values = {
        _NAME: project.name,
        _TIMEZONE: project.settings.timezone,
        _RETENTION: retention.seconds or retention.nanos,
    }
    return {field for field, value in values.items() if value}
