"""Saved templates: content per channel field in several languages, with variables' defaults and
immutable versions; their preview for one profile; what a send keeps of the version it names."""

from kernel.engage.templates.sending import send_translations
from kernel.engage.templates.service import Templates
from kernel.engage.templates.store import TemplateStore

__all__ = ["TemplateStore", "Templates", "send_translations"]
