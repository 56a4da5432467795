"""A send step: one marketing message (a saved template on one channel) to the profile inside, on the first
of the step's channels that reaches it (the preferred reachable channel).

The message is planned in the transaction that moves the profile on (its row in ``messages``, with its id
and rendered content, leased as SendTransactional leases its own), and attempted once that transaction
has committed. So the step and its message are one: a crash before the commit leaves neither (the step
runs again), a crash after it leaves a message that a sender worker sends when its lease runs out, with
the same id; a failed attempt is retried by the workers under the bulk sends' policy.

A profile that opted out of marketing on the channel's consent scope, an address on the marketing
suppression list, and a profile without an address on the channel get no message; nor does one the
project's marketing pressure rules keep from it now (:mod:`kernel.engage.automations.pressure`).
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from dataclasses import dataclass

import asyncpg

from kernel.channels import ChannelSpec, OutboundMessage, Reach
from kernel.delivery.suppressions import blocked_addresses
from kernel.delivery.templates import TemplateError
from kernel.delivery.transactional import TransactionalSender
from kernel.delivery.translations import Translations, with_defaults
from kernel.engage.automations import facts
from kernel.engage.automations.facts import Fact
from kernel.engage.automations.graph import Send, SendChoice
from kernel.engage.automations.pressure import Held, hold
from kernel.engage.automations.store import Entry
from kernel.engage.templates.sending import translations_of
from kernel.engage.templates.store import TemplateStore
from kernel.errors import NotFound
from kernel.plugins import ChannelManager, UnknownChannel
from kernel.profiles.attributes import to_plain
from kernel.profiles.variables import template_variables
from kernel.projects import Projects

log = logging.getLogger(__name__)

#: Saved template versions kept compiled (a version never changes).
_KEPT_TEMPLATES = 256


@dataclass(frozen=True, slots=True)
class Planned:
    """Messages stored and leased, to attempt once their transaction committed."""

    project_id: uuid.UUID
    spec: ChannelSpec
    messages: list[OutboundMessage]


def joined(planned: list[Planned]) -> list[Planned]:
    """The messages of several send steps, one Planned per project and channel (attempted in one
    transmission per provider batch, as a bulk send's), each channel's in their order."""
    found: dict[tuple[uuid.UUID, str], Planned] = {}
    for step in planned:
        key = (step.project_id, step.spec.name)
        if key in found:
            found[key].messages.extend(step.messages)
        else:
            found[key] = Planned(step.project_id, step.spec, list(step.messages))
    return list(found.values())


class StepSender:
    def __init__(
        self,
        channels: ChannelManager,
        transactional: TransactionalSender,
        templates: TemplateStore,
        projects: Projects,
    ) -> None:
        self._channels = channels
        self._transactional = transactional
        self._templates = templates
        self._projects = projects
        self._translations: dict[tuple[uuid.UUID, str, int], Translations] = {}

    async def plan(
        self,
        conn: asyncpg.Connection,
        project_id: uuid.UUID,
        entry: Entry,
        step_id: str,
        step: Send,
    ) -> Planned | Held | None:
        """Store the step's message for the entry's profile, recorded as the step's; Held when the pressure
        rules keep it, None when the profile gets none (see the module)."""
        profile_id = entry.profile_id
        reached = await self._first_reachable(conn, project_id, profile_id, step)
        if reached is None:
            return None
        choice, spec, targets = reached
        try:
            translations = await self._translations_of(conn, project_id, choice)
        except NotFound:
            log.warning("automation send step skipped: template %s is gone", choice.template_id)
            return None
        variables = await template_variables(conn, project_id, profile_id)
        language, _ = translations.chooser().choose(variables.get("language"))
        variables.update(campaign={}, event=to_plain(entry.event_attributes))
        messages = []
        for address, details in targets:
            # Each message prints its own id (`{{ message_id }}`): a push carries it for the app to report
            # its opening (MessageService.RecordMessageOpened).
            variables["message_id"] = message_id = str(uuid.uuid4())
            try:
                content = translations.templates[language].render(
                    with_defaults(variables, translations.defaults)
                )
            except TemplateError as error:
                log.warning("automation send step on %s skipped: %s", spec.name, error)
                return None
            messages.append(OutboundMessage(message_id, address, content, address_details=details))
        label = messages[0].content.campaign
        held = await hold(conn, project_id, entry, step_id, messages[0].message_id, spec.name, label)
        if held is not None:
            return held
        await self._transactional.insert_leased(conn, project_id, spec, profile_id, messages)
        await facts.record(
            conn, project_id, entry, step_id, Fact.MESSAGE, [uuid.UUID(m.message_id) for m in messages]
        )
        return Planned(project_id, spec, messages)

    async def attempt(self, planned: Planned) -> None:
        """The first attempt; a failure to reach the provider is the workers' to retry."""
        try:
            await self._transactional.first_attempt(planned.project_id, planned.spec, planned.messages)
        except Exception:
            log.exception(
                "automation send on %s: first attempt failed; a worker retries it", planned.spec.name
            )

    async def _first_reachable(
        self, conn: asyncpg.Connection, project_id: uuid.UUID, profile_id: uuid.UUID, step: Send
    ) -> tuple[SendChoice, ChannelSpec, list[tuple[str, dict[str, str]]]] | None:
        """The step's first channel (in its order) that reaches the profile, with its addresses there, as a
        send's channel priority chooses; None when none does."""
        for choice in step.choices:
            try:
                spec = self._channels.channel(choice.channel)
            except UnknownChannel:
                log.warning("automation send step on %s skipped: no such channel is loaded", choice.channel)
                continue
            targets = await self._targets(conn, project_id, profile_id, spec)
            if targets:
                return choice, spec, targets
        return None

    async def _targets(
        self, conn: asyncpg.Connection, project_id: uuid.UUID, profile_id: uuid.UUID, spec: ChannelSpec
    ) -> list[tuple[str, dict[str, str]]]:
        """The addresses the channel reaches the profile at, if it may get marketing there."""
        opted_out = await conn.fetchval(
            """SELECT true FROM profile_subscriptions WHERE project_id = $1 AND profile_id = $2
               AND channel = $3 AND purpose = 'marketing' AND topic = '' AND status = 'opted_out'""",
            project_id,
            profile_id,
            spec.consent_scope,
        )
        if opted_out:
            return []
        kind = spec.capabilities.address_kind
        rows = await conn.fetch(
            """SELECT value, details FROM profile_addresses
               WHERE project_id = $1 AND profile_id = $2 AND kind = $3 ORDER BY updated_at DESC, value""",
            project_id,
            profile_id,
            kind,
        )
        targets = [(row["value"], row["details"]) for row in rows]
        if self._channels.address_kind(spec).reach is Reach.NEWEST:
            targets = targets[:1]
        if not targets:
            return []
        blocked = await blocked_addresses(conn, project_id, [(kind, a) for a, _ in targets], marketing=True)
        return [(a, d) for a, d in targets if (kind, a) not in blocked]

    async def _translations_of(
        self, conn: asyncpg.Connection, project_id: uuid.UUID, choice: SendChoice
    ) -> Translations:
        """The channel's template version, compiled once; with the project's default language of now (it
        may change, the version may not)."""
        language = (await self._projects.get(project_id, conn)).default_language
        key = (project_id, choice.template_id, choice.template_version)
        found = self._translations.get(key)
        if found is None:
            saved = await self._templates.get(
                project_id, uuid.UUID(choice.template_id), choice.template_version
            )
            found = translations_of(saved, language, "template", transactional=False)
            if len(self._translations) >= _KEPT_TEMPLATES:
                self._translations.clear()
            self._translations[key] = found
        return dataclasses.replace(found, project_language=language)
