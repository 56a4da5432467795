"""A str value as Liquid prints it in a substituted field, for both cores.

The compiled core calls this only for the rare value it must rewrite (one holding a CR, or, in the html
field, a character HTML escapes); the twin calls it for every str value.
"""

from __future__ import annotations


def liquid_text(value: str, escape: bool) -> str:
    """``value`` HTML-escaped as markupsafe escapes it (when ``escape``), with python-liquid's line breaks
    (CR LF and a lone CR become LF)."""
    if escape:
        value = (
            value.replace("&", "&amp;")
            .replace(">", "&gt;")
            .replace("<", "&lt;")
            .replace("'", "&#39;")
            .replace('"', "&#34;")
        )
    return value.replace("\r\n", "\n").replace("\r", "\n") if "\r" in value else value
