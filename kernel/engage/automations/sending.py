"""A send step: one marketing message (a saved template on one channel) to the profile inside, on the first
of the step's channels that reaches it (the preferred reachable channel).

The message is planned in the transaction that moves the profile on (its row in ``messages``, with its id
and rendered content, leased as SendTransactional leases its own), and attempted once that transaction
has committed. So the step and its message are one: a crash before the commit leaves neither (the step
runs again), a crash after it leaves a message that a sender worker sends when its lease runs out, with
the same id; a failed attempt is retried by the workers under the bulk sends' policy.

A profile its step's channels do not reach (:mod:`kernel.engage.automations.reach`) gets no message; nor
does one the project's marketing pressure rules keep from it now (:mod:`kernel.engage.automations.pressure`).

A step's messages are personalised as a bulk send's (:mod:`kernel.delivery.personalise`, the version's
template bound once per batch): on a provider that substitutes per-recipient data itself, the messages of one
template version share their content and each carries its own values, so that the messages a batch of
walks planned go out in one transmission per template rather than one request each.

The send steps of a batch of walks are planned together, in a fixed number of statements: the profiles'
reach (two per channel tried), their template variables, the pressure rules' judging, the messages and
the facts, one statement each.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg

from kernel.channels import ChannelSpec, OutboundMessage
from kernel.delivery.personalise import Personalise, Personaliser, row_of
from kernel.delivery.templates import TemplateError
from kernel.delivery.transactional import LeasedMessage, TransactionalSender, insert_leased
from kernel.delivery.translations import Translations, with_defaults
from kernel.engage.automations import facts
from kernel.engage.automations.event_reads import EventReads
from kernel.engage.automations.facts import Fact, StepFact
from kernel.engage.automations.graph import Send, SendChoice
from kernel.engage.automations.pressure import Held, Judged, hold_together
from kernel.engage.automations.reach import Reached, reached
from kernel.engage.automations.store import Entry
from kernel.engage.templates.sending import translations_of
from kernel.engage.templates.store import TemplateStore
from kernel.errors import NotFound
from kernel.plugins import ChannelManager
from kernel.profiles.attributes import to_plain
from kernel.profiles.variables import template_variables_together

log = logging.getLogger(__name__)

#: Saved template versions kept compiled (a version never changes).
_KEPT_TEMPLATES = 256
#: A batch's personalisers, by template version, language and the provider's placeholder.
_Personalisers = dict[tuple[str, int, str, str | None], tuple[tuple[str, ...], Personalise]]


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


@dataclass(frozen=True, slots=True)
class SendAt:
    """An entry at a send step."""

    project_id: uuid.UUID
    entry: Entry
    step_id: str
    step: Send


@dataclass(frozen=True, slots=True)
class _Drafted:
    at: SendAt
    spec: ChannelSpec
    messages: list[OutboundMessage]


class StepSender:
    def __init__(
        self,
        channels: ChannelManager,
        transactional: TransactionalSender,
        templates: TemplateStore,
        lease: timedelta,
    ) -> None:
        """``lease``: how long a planned message stays its first attempt's (as a transactional message's)."""
        self._channels = channels
        self._transactional = transactional
        self._templates = templates
        self._lease = lease
        self._translations: dict[tuple[uuid.UUID, str, int], Translations] = {}

    async def plan_together(
        self, conn: asyncpg.Connection, reads: EventReads, sends: Sequence[SendAt]
    ) -> list[Planned | Held | None]:
        """Store each step's message for its entry's profile, recorded as the step's: per step, Planned,
        Held when the pressure rules keep it, None when the profile gets none (see the module)."""
        results: list[Planned | Held | None] = [None] * len(sends)
        for project_id in dict.fromkeys(send.project_id for send in sends):
            indexes = [index for index, send in enumerate(sends) if send.project_id == project_id]
            planned = await self._plan_project(conn, reads, project_id, [sends[index] for index in indexes])
            for index, result in zip(indexes, planned, strict=True):
                results[index] = result
        return results

    async def _plan_project(
        self, conn: asyncpg.Connection, reads: EventReads, project_id: uuid.UUID, sends: Sequence[SendAt]
    ) -> list[Planned | Held | None]:
        """:meth:`plan_together` for the steps of one project (its language, rules and messages')."""
        reach = await reached(
            conn, self._channels, project_id, [(send.entry.profile_id, send.step) for send in sends]
        )
        if not any(reach):
            return [None] * len(sends)
        language = (await reads.project(conn, project_id)).default_language
        variables = await template_variables_together(
            conn,
            project_id,
            {send.entry.profile_id for send, found in zip(sends, reach, strict=True) if found},
        )
        drafts: list[_Drafted | None] = []
        personalisers: _Personalisers = {}
        for send, found in zip(sends, reach, strict=True):
            drafts.append(
                None
                if found is None
                else await self._draft(project_id, language, send, found, variables, personalisers)
            )
        drafted = [draft for draft in drafts if draft is not None]
        held, found_facts = await hold_together(
            conn,
            project_id,
            await reads.pressure(conn, project_id),
            [
                Judged(
                    d.at.entry,
                    d.at.step_id,
                    d.messages[0].message_id,
                    d.spec.name,
                    d.messages[0].content.campaign,
                )
                for d in drafted
            ],
        )
        verdicts = dict(zip(map(id, drafted), held, strict=True))
        going = [d for d in drafted if verdicts[id(d)] is None]
        await insert_leased(
            conn,
            project_id,
            self._lease,
            [LeasedMessage(d.at.entry.profile_id, d.spec.name, m) for d in going for m in d.messages],
        )
        found_facts += [
            StepFact(project_id, d.at.entry, d.at.step_id, Fact.MESSAGE, uuid.UUID(m.message_id))
            for d in going
            for m in d.messages
        ]
        await facts.record_together(conn, found_facts)
        return [
            None if d is None else verdicts[id(d)] or Planned(project_id, d.spec, d.messages) for d in drafts
        ]

    async def _draft(
        self,
        project_id: uuid.UUID,
        language: str,
        send: SendAt,
        reach: Reached,
        variables: Mapping[uuid.UUID, Mapping[str, Any]],
        personalisers: _Personalisers,
    ) -> _Drafted | None:
        """The step's messages rendered; None when its template is gone or does not render.
        ``personalisers``: the batch's, by template version, language and provider."""
        try:
            translations = await self._translations_of(project_id, language, reach.choice)
        except NotFound:
            log.warning("automation send step skipped: template %s is gone", reach.choice.template_id)
            return None
        profile_id = send.entry.profile_id
        if profile_id not in variables:
            raise NotFound("no profile matches this reference", "profile")
        printed = dict(variables[profile_id])
        chosen, _ = translations.chooser().choose(printed.get("language"))
        printed.update(campaign={}, event=to_plain(send.entry.event_attributes))
        printed = with_defaults(printed, translations.defaults)
        names, personalise = _personalise(personalisers, translations, chosen, reach.spec)
        ids = []
        rows = []
        for _ in reach.targets:
            # Each message prints its own id (`{{ message_id }}`): a push carries it for the app to report
            # its opening (MessageService.RecordMessageOpened).
            printed["message_id"] = message_id = str(uuid.uuid4())
            ids.append(message_id)
            rows.append(row_of(names, printed))
        try:
            personalised = personalise.many(rows)
        except TemplateError as error:
            log.warning("automation send step on %s skipped: %s", reach.spec.name, error)
            return None
        messages = [
            OutboundMessage(message_id, address, content, details, data)
            for message_id, (address, details), (content, data) in zip(
                ids, reach.targets, personalised, strict=True
            )
        ]
        return _Drafted(send, reach.spec, messages)

    async def attempt(self, planned: Planned) -> None:
        """The first attempt; a failure to reach the provider is the workers' to retry."""
        try:
            await self._transactional.first_attempt(planned.project_id, planned.spec, planned.messages)
        except Exception:
            log.exception(
                "automation send on %s: first attempt failed; a worker retries it", planned.spec.name
            )

    async def _translations_of(
        self, project_id: uuid.UUID, language: str, choice: SendChoice
    ) -> Translations:
        """The channel's template version, compiled once; with the project's default language of now (it
        may change, the version may not)."""
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


def _personalise(
    personalisers: _Personalisers, translations: Translations, language: str, spec: ChannelSpec
) -> tuple[tuple[str, ...], Personalise]:
    """The version's template in ``language`` for ``spec``'s provider, bound to the variables it reads,
    once per batch (its memos last no longer). The batch's messages of one template share their content,
    each with its own substitution data where the provider substitutes it: they go in one transmission
    (see :mod:`kernel.delivery.personalise`)."""
    key = (translations.template_id, translations.version, language, spec.capabilities.placeholder)
    found = personalisers.get(key)
    if found is None:
        personaliser = Personaliser(translations.templates[language], placeholder=key[3])
        names = tuple(sorted(personaliser.variables))
        found = personalisers[key] = (names, personaliser.bind(names))
    return found
