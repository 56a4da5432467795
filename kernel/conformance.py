"""A conformance kit that any channel plugin runs against itself, with its own emulator.

Subclass :class:`ChannelConformance` in a test module, fill in the few channel-specific hooks, and
plain ``pytest`` collects the inherited tests — in Herald's repository or in the plugin's own, where
Herald's ``conformance`` extra brings what the kit needs (pytest; README "Writing a channel plugin")::

    class TestMyChannel(ChannelConformance):
        channel_name = "sms.mygateway"

        def config(self, emulator):            # a valid configuration for that emulator
            return {"url": emulator.endpoint, "token": emulator.token}

        def address(self, emulator, index):    # a deliverable address, its details
            return f"+3361234{index:04d}", {}

What it checks is what the kernel relies on: the channel is discovered through the ``herald.channels``
entry point and declares sane capabilities; configuration is validated without network; a batch gets
one result per message, in order, with provider ids; throttling and server errors are RETRY (with the
provider's Retry-After when it sends one); a dead address is a permanent failure that prunes it, while
a refusal that may also mean a wrong configuration (``config_suspect_failure``) fails without pruning;
an oversized payload is refused before it reaches the provider; the emulator serves sandbox mode; a
webhook call without the provider's credentials or signature is refused.

The tests are plain functions, each driving its own event loop (the ``runner`` fixture): the kit
needs no pytest-asyncio, and works whatever ``asyncio_mode`` and loop scopes the plugin's repository
configures, or none.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, TypeVar

import pytest

from kernel.channels import (
    ChannelSender,
    ChannelSpec,
    ConfigError,
    Emulator,
    FailureReason,
    MessageContent,
    OutboundMessage,
    Outcome,
    SendResult,
    WebhookRequest,
)
from kernel.channels.kinds import KIND_NAME_PATTERN, AddressError
from kernel.plugins import ChannelManager

T = TypeVar("T")
#: The ``send_batch`` fixture: a batch in, its results out.
SendBatch = Callable[[list[OutboundMessage]], list[SendResult]]


async def _in_loop(make: Callable[..., T], *args: Any) -> T:
    """``make(*args)`` called inside the running loop: senders and emulators may bind to it (an aiohttp
    session created outside one is deprecated)."""
    return make(*args)


class ChannelConformance:
    #: The channel under test, as declared by its plugin.
    channel_name: ClassVar[str]
    #: The status the emulator's ``fail_next`` takes for "slow down" (HTTP 429; SMTP 421 ...).
    throttle_status: ClassVar[int] = 429
    #: The status for a temporary server error.
    server_error_status: ClassVar[int] = 503
    #: Whether the provider's throttling answer carries a Retry-After the sender must report.
    reports_retry_after: ClassVar[bool] = True
    #: ``fail_next(1, status, error=error)`` for the provider's refusal of an address that also means a
    #: wrong configuration (APNs ``(400, "BadDeviceToken")``); None if the provider has none.
    config_suspect_failure: ClassVar[tuple[int, str] | None] = None

    def config(self, emulator: Emulator) -> Mapping[str, Any]:
        """A valid configuration pointing at ``emulator``."""
        raise NotImplementedError

    def address(self, emulator: Emulator, index: int) -> tuple[str, Mapping[str, str]]:
        """The ``index``-th deliverable address (and its details, e.g. web-push keys)."""
        raise NotImplementedError

    def content(self) -> MessageContent:
        """Ordinary content for this channel."""
        return MessageContent(
            subject="Hello", text="Hello from Herald", title="Hello", body="Hello from Herald"
        )

    def oversized_content(self, spec: ChannelSpec) -> MessageContent:
        """Content whose payload exceeds the channel's declared ``max_payload_bytes``."""
        big = "x" * (spec.capabilities.max_payload_bytes + 1)
        return MessageContent(subject="Big", text=big, html=big, title="Big", body=big, data={"blob": big})

    # -- fixtures ---------------------------------------------------------------------------------

    @pytest.fixture
    def manager(self) -> ChannelManager:
        """The plugin manager, loading plugins from entry points as Herald does."""
        return ChannelManager()

    @pytest.fixture
    def spec(self, manager: ChannelManager) -> ChannelSpec:
        """The channel's declaration."""
        return manager.channel(self.channel_name)

    @pytest.fixture
    def runner(self) -> Iterator[asyncio.Runner]:
        """This test's own event loop, closed with it (and never made the thread's current loop, which
        a pytest-asyncio loop of the caller's may be)."""
        with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
            yield runner

    @pytest.fixture
    def emulator(self, manager: ChannelManager, runner: asyncio.Runner) -> Iterator[Emulator]:
        """The channel's provider emulator, started on loopback."""
        emulator = runner.run(_in_loop(manager.emulator, self.channel_name))
        started = runner.run(emulator.__aenter__())
        try:
            yield started
        finally:
            runner.run(emulator.__aexit__(None, None, None))

    @pytest.fixture
    def sender(
        self, manager: ChannelManager, emulator: Emulator, runner: asyncio.Runner
    ) -> Iterator[ChannelSender]:
        """A sender for a validated configuration, pointed at the emulator."""
        config = manager.validate_config(self.channel_name, self.config(emulator))
        created = runner.run(_in_loop(manager.sender, self.channel_name, config, emulator.endpoint))
        try:
            yield created
        finally:
            runner.run(created.close())

    @pytest.fixture
    def send_batch(self, sender: ChannelSender, runner: asyncio.Runner) -> SendBatch:
        """``sender.send_batch``, run to completion in the test's loop."""
        return lambda messages: runner.run(sender.send_batch(messages))

    def messages(
        self, emulator: Emulator, count: int, content: MessageContent | None = None
    ) -> list[OutboundMessage]:
        shared = content or self.content()
        return [
            OutboundMessage(str(uuid.uuid4()), address, shared, address_details=details)
            for address, details in (self.address(emulator, i) for i in range(count))
        ]

    # -- the checks -------------------------------------------------------------------------------

    def test_declared_with_sane_capabilities(self, spec: ChannelSpec) -> None:
        caps = spec.capabilities
        assert spec.name == self.channel_name and spec.description
        assert re.fullmatch(KIND_NAME_PATTERN, spec.consent_scope), "a consent scope like email, push, sms"
        assert caps.max_batch_size >= 1 and caps.max_payload_bytes >= 1
        assert caps.default_rate_per_second is None or caps.default_rate_per_second > 0
        assert spec.config_fields, "declare the configuration keys, with a description each"
        assert spec.secret_config_fields <= set(spec.config_fields)

    def test_address_kind_is_loaded_and_normalises_idempotently(
        self, manager: ChannelManager, spec: ChannelSpec, emulator: Emulator
    ) -> None:
        """The kind the channel reaches is loaded, and its stored form of an address is a fixed point (the
        kit's addresses point at the emulator, which the kind may refuse: a loopback http URL)."""
        kind = manager.address_kind(spec)
        for index in range(3):
            address, _ = self.address(emulator, index)
            try:
                stored = kind.normalise(address)
            except AddressError:
                continue
            assert kind.normalise(stored) == stored

    def test_config_validation(self, manager: ChannelManager, emulator: Emulator) -> None:
        valid = manager.validate_config(self.channel_name, self.config(emulator))
        assert isinstance(valid, Mapping)
        with pytest.raises(ConfigError) as refused:
            manager.validate_config(self.channel_name, {})
        assert refused.value.field, "a refusal names the configuration key"

    def test_batch_gets_ordered_results_with_provider_ids(
        self, spec: ChannelSpec, emulator: Emulator, send_batch: SendBatch
    ) -> None:
        batch = self.messages(emulator, min(3, spec.capabilities.max_batch_size))
        before = len(emulator.accepted)
        results = send_batch(batch)
        assert [r.message_id for r in results] == [m.message_id for m in batch]
        assert all(r.outcome is Outcome.ACCEPTED and r.provider_id for r in results), results
        assert len(emulator.accepted) - before == len(batch)

    def test_throttling_is_a_retry(self, emulator: Emulator, send_batch: SendBatch) -> None:
        emulator.fail_next(1, self.throttle_status, retry_after=7)
        [result] = send_batch(self.messages(emulator, 1))
        assert result.outcome is Outcome.RETRY, result
        if self.reports_retry_after:
            assert result.retry_after == pytest.approx(7, abs=1)

    def test_server_error_is_a_retry(self, emulator: Emulator, send_batch: SendBatch) -> None:
        emulator.fail_next(1, self.server_error_status)
        [result] = send_batch(self.messages(emulator, 1))
        assert result.outcome is Outcome.RETRY, result

    def test_dead_address_fails_permanently_and_prunes(
        self, emulator: Emulator, send_batch: SendBatch
    ) -> None:
        [message] = self.messages(emulator, 1)
        emulator.invalidate(message.address)
        [result] = send_batch([message])
        assert result.outcome is Outcome.FAILED and result.prunes_address, result

    def test_refusal_that_may_be_a_configuration_error_never_prunes(
        self, emulator: Emulator, send_batch: SendBatch
    ) -> None:
        if self.config_suspect_failure is None:
            pytest.skip("the provider has no refusal that may mean a wrong configuration")
        status, error = self.config_suspect_failure
        emulator.fail_next(1, status, error=error)
        [result] = send_batch(self.messages(emulator, 1))
        assert (result.outcome, result.reason) == (Outcome.FAILED, FailureReason.CONFIG_SUSPECT), result
        assert not result.prunes_address

    def test_oversized_payload_is_refused_before_sending(
        self, spec: ChannelSpec, emulator: Emulator, send_batch: SendBatch
    ) -> None:
        before = len(emulator.accepted)
        [result] = send_batch(self.messages(emulator, 1, self.oversized_content(spec)))
        assert result.outcome is Outcome.FAILED and result.reason is FailureReason.PAYLOAD_TOO_LARGE, result
        assert len(emulator.accepted) == before

    def test_sandbox_emulator_serves_its_own_configuration(
        self, manager: ChannelManager, runner: asyncio.Runner
    ) -> None:
        async def send_in_sandbox() -> SendResult:
            emulator = manager.emulator(self.channel_name)
            config = manager.validate_config(self.channel_name, emulator.enter_sandbox())
            async with emulator:
                sender = manager.sender(self.channel_name, config, emulator.endpoint)
                try:
                    [result] = await sender.send_batch(self.messages(emulator, 1))
                finally:
                    await sender.close()
            return result

        result = runner.run(send_in_sandbox())
        assert result.outcome is Outcome.ACCEPTED, result

    def test_slow_provider_still_delivers(self, emulator: Emulator, send_batch: SendBatch) -> None:
        emulator.set_latency(0.05)
        [result] = send_batch(self.messages(emulator, 1))
        assert result.outcome is Outcome.ACCEPTED, result

    def test_unauthenticated_webhook_is_refused(self, manager: ChannelManager, emulator: Emulator) -> None:
        config = manager.validate_config(self.channel_name, self.config(emulator))
        secret = secrets.token_urlsafe(32)
        forged = WebhookRequest({}, b"[]", url=f"https://herald.example/webhooks/{uuid.uuid4()}/c")
        assert not manager.verify_webhook(self.channel_name, forged, config, secret)
        # No generated credential must verify nothing, not everything.
        assert not manager.verify_webhook(self.channel_name, forged, config, "")
        credentials = manager.webhook_credentials(self.channel_name, config, secret)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in credentials.items()), credentials
