"""Hook specifications for Herald channel plugins.

A channel plugin is a module (or object) registered under the ``herald.channels`` entry-point group,
implementing some of the hooks below with ``@kernel.plugins.hookimpl``. Herald's own channels are loaded
exactly the same way. Only :class:`kernel.plugins.ChannelManager` calls these hooks.

Every per-channel hook receives the :class:`~kernel.channels.ChannelSpec` it is asked about and is
called on the plugin that declared that channel only, so an implementation needs no "is this my
channel?" check unless its plugin declares several channels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pluggy

from kernel.channels import (
    AddressKindSpec,
    ChannelSender,
    ChannelSpec,
    Emulator,
    FeedbackEvent,
    MessageContent,
    WebhookRequest,
)

hookspec = pluggy.HookspecMarker("herald")


@hookspec
def herald_channels() -> list[ChannelSpec]:
    """Declare the channels this plugin provides.

    Called once when the plugin manager loads. Return one :class:`~kernel.channels.ChannelSpec` per
    channel, with its capabilities; a channel name may be declared by one plugin only (a second
    declaration stops the start with an error naming both plugins).
    """


@hookspec
def herald_address_kinds() -> list[AddressKindSpec]:
    """Declare the address kinds this plugin's channels reach (or that other plugins' channels may reach).

    Called once when the plugin manager loads. Return one :class:`~kernel.channels.AddressKindSpec` per
    kind: its name (``Address.kind``), how a value is checked and normalised, the details it needs, how
    two spellings compare, and which of a profile's addresses a message goes to. Several plugins may
    declare the same kind with the very same spec (the two email channels share one); two different specs
    under one name stop the start with an error naming both plugins. Every channel's
    ``capabilities.address_kind`` must be declared by a loaded plugin.
    """


@hookspec(firstresult=True)
def herald_validate_config(channel: ChannelSpec, config: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """Check a project's configuration (credentials, sender identity) of ``channel`` before it is saved.

    Return the normalised configuration to store. Raise :class:`~kernel.channels.ConfigError` naming
    the key for anything unusable — a malformed key file, a missing field — so ChannelService can answer
    INVALID_ARGUMENT with the reason. Must not contact the provider (no network in validation).
    """


@hookspec
def herald_validate_template(channel: ChannelSpec, template: MessageContent) -> None:
    """Check a template of ``channel`` for what its provider refuses whatever the recipient, before a
    send is created (CreateSend) or a transactional message sent (SendTransactional).

    ``template`` holds the template as given, not rendered: its text fields and ``data`` values are
    Liquid sources, its ``data`` keys and options final. Raise :class:`~kernel.channels.ConfigError`
    naming the template field (``subject``, ``data["from"]``): the call is refused with
    INVALID_ARGUMENT on that field (e.g. ``templates["push.fcm"].data["from"]``), and nothing is sent.
    Return None otherwise. Must not contact the provider. What only a rendered message can show (a
    variable's value) is still the sender's to refuse, message by message.
    """


@hookspec(firstresult=True)
def herald_channel_sender(
    channel: ChannelSpec, config: Mapping[str, Any], endpoint: str | None
) -> ChannelSender | None:
    """Create the sender that delivers ``channel`` messages for one project's validated ``config``.

    ``endpoint`` is None for the real provider, or the base URL (host:port for SMTP) of its emulator in
    sandbox mode, tests and benchmarks: the sender must then speak the same protocol to that address.
    The sender is reused for many batches and closed by the kernel.
    """


@hookspec(firstresult=True)
def herald_verify_webhook(
    channel: ChannelSpec, request: WebhookRequest, config: Mapping[str, Any], secret: str
) -> bool | None:
    """Tell whether a call to ``POST /webhooks/<project id>/<channel name>`` really comes from the provider.

    Called by Herald's webhook endpoint before anything of the call is stored, with the project's
    validated ``config`` of the channel and ``secret``: a random credential Herald generated for this
    project and channel (empty for a configuration that has none yet), to be checked where the provider
    lets the operator choose one (SparkPost's basic auth) — or ignored where the provider signs with a
    key the configuration already holds (Twilio's auth token). Compare in constant time
    (``hmac.compare_digest``). Return True only for a genuine call; False (or not implementing this hook)
    makes Herald answer 401 and drop the call, so a channel whose provider cannot be verified receives
    no feedback at all. Must not parse or apply anything: it runs on the endpoint's critical path.
    """


@hookspec(firstresult=True)
def herald_webhook_credentials(
    channel: ChannelSpec, config: Mapping[str, Any], secret: str
) -> Mapping[str, str] | None:
    """What the operator enters in the provider's webhook settings so that its calls verify.

    ``secret`` is the one :func:`herald_verify_webhook` receives. Keys and values are shown as they are
    by ``GetChannelConfig`` (e.g. ``{"auth_type": "basic", "username": "herald", "password": ...}``), so
    name them as the provider's console or API does.
    """


@hookspec(firstresult=True)
def herald_parse_feedback(
    channel: ChannelSpec, request: WebhookRequest, config: Mapping[str, Any]
) -> list[FeedbackEvent] | None:
    """Turn a verified provider webhook call into feedback events (delivered, bounced, opened, ...).

    Called after :func:`herald_verify_webhook` accepted the call and Herald stored it, off the endpoint's
    path (the provider already had its answer), with that project's validated ``config`` of the channel
    (an implementation may omit the parameter if it needs no configuration). A malformed event (missing
    or mistyped field) is skipped, not fatal: the other events of the batch still count. Raise
    :class:`~kernel.channels.ConfigError` only when the body as a whole cannot be read; the call is then
    dropped. Return an empty list for events Herald does not track.
    """


@hookspec(firstresult=True)
def herald_channel_emulator(channel: ChannelSpec) -> Emulator | None:
    """Return a new, not yet started loopback emulator of ``channel``'s provider.

    Used by tests, benchmarks, ``herald emulator <channel>`` and sandbox mode. The emulator must check
    requests as the provider does (authentication, payload limits, required fields) and answer with
    the provider's real success and error shapes.

    In sandbox mode, an emulator that also implements :class:`~kernel.channels.FeedbackEmulator` reports
    outcomes at the operator's rates: dead tokens in its answers, and, as a
    :class:`~kernel.channels.WebhookFeedbackEmulator`, the provider's webhook calls to the project.

    Optional: a plugin without it still loads and sends. Sandbox mode then leaves the channel out
    with a warning (no sandbox configuration; a project that configures it sends to the real
    provider), ``herald emulator`` refuses it, and the conformance kit (``kernel.conformance``), which
    drives the sender against the emulator, cannot run.
    """
