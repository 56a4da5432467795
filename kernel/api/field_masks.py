"""Update methods' field masks (AIP-134): the paths a method accepts, and the fields each one names."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from kernel.errors import InvalidArgument


def masked_fields(paths: Iterable[str], accepted: Mapping[str, Iterable[str]]) -> set[str]:
    """The fields the mask's paths name; a path the method does not accept is INVALID_ARGUMENT naming it
    (``update_mask.paths[0]``)."""
    fields: set[str] = set()
    for index, path in enumerate(paths):
        if path not in accepted:
            raise InvalidArgument(
                f"{path!r} is not an updatable field (use {', '.join(sorted(accepted))})",
                f"update_mask.paths[{index}]",
            )
        fields.update(accepted[path])
    return fields
