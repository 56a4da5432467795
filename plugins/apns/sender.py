"""Delivers APNs pushes for one project: one HTTP/2 connection, one stream per push.

A batch is sent in rounds. Every push of a round is started at once on the connection (which queues
what exceeds the server's stream limit); answers come back through one callback. A push the server
provably never processed (GOAWAY, REFUSED_STREAM) goes into the next round on a fresh connection, as
does every push refused with ExpiredProviderToken after the token is re-signed; anything still
unsent after the last round, or lost with its connection, is a RETRY result.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import ssl
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson

from kernel.channels import FailureReason, MessageContent, OutboundMessage, Outcome, SendResult
from plugins._http import fail, retry, retry_after
from plugins.apns.config import HOSTS, ApnsConfig
from plugins.apns.h2client import (
    H2ClientConnection,
    Header,
    Push,
    Response,
    StreamFailed,
    Unprocessed,
    connect,
)
from plugins.apns.h2hpack import MAX_RUNS, Run
from plugins.apns.payload import CANONICAL_UUID, Refusal, body_of, headers_key, headers_of
from plugins.apns.token import ProviderToken

log = logging.getLogger(__name__)

#: A push that keeps landing on connections that go away is given back to the kernel after this.
MAX_ROUNDS = 3
#: Headers that differ in every push: sent as HPACK literals, kept out of the connection's table.
_UNINDEXED = (b":path", b"apns-id")
_HEX_TOKEN = re.compile(r"[0-9a-fA-F]{16,400}")
# A batch's tokens (message ids), one a line, all well-formed: one match instead of one per message.
_HEX_TOKENS = re.compile(rf"{_HEX_TOKEN.pattern}(?:\n{_HEX_TOKEN.pattern})*")
_CANONICAL_UUIDS = re.compile(rf"{CANONICAL_UUID.pattern}(?:\n{CANONICAL_UUID.pattern})*")
#: Refusals of a token that a wrong configuration gives every token: BadDeviceToken is also the answer
#: to a valid token of the other environment (sandbox vs production), DeviceTokenNotForTopic to a token
#: of another app than the configured bundle id. Only 410 Unregistered says that a token is dead.
_CONFIG_SUSPECT_REASONS = frozenset({"BadDeviceToken", "DeviceTokenNotForTopic"})
_AUTHENTICATION_REASONS = frozenset(
    {
        "InvalidProviderToken",
        "MissingProviderToken",
        "BadCertificate",
        "BadCertificateEnvironment",
        "Forbidden",
    }
)


@dataclass(slots=True)
class _Push:
    index: int
    path: bytes
    #: The apns-* headers of its content, one object for every push of the same headers_key.
    headers: tuple[Header, ...]
    #: None for a message id that is not a UUID.
    apns_id: bytes | None
    body: bytes


class ApnsSender:
    def __init__(
        self,
        config: ApnsConfig,
        endpoint: str | None = None,
        *,
        clock: Callable[[], float] = time.time,
        timeout: float = 30.0,
        max_streams: int = 1000,
    ) -> None:
        """``endpoint`` (``https://host:port``) replaces Apple's host, e.g. with the emulator's."""
        url = urlsplit(endpoint or f"https://{HOSTS[config.environment]}")
        if url.scheme != "https" or not url.hostname:
            raise ValueError(f"APNs endpoint must be an https:// URL, not {endpoint!r}")
        self._host = url.hostname
        self._port = url.port or 443
        authority = self._host if self._port == 443 else f"{self._host}:{self._port}"
        self._head: Run = ((b":method", b"POST"), (b":scheme", b"https"), (b":authority", authority.encode()))
        # The same run objects from batch to batch: the connection's encoder caches their representation.
        self._runs: dict[tuple[bytes, tuple[Header, ...]], Run] = {}
        self._ssl = _client_context(self._host)
        self._topic = config.bundle_id.encode()
        self._token = ProviderToken(config.key, config.key_id, config.team_id, clock=clock)
        self._timeout = timeout
        self._max_streams = max_streams
        self._connection: H2ClientConnection | None = None
        self._connecting = asyncio.Lock()

    async def send_batch(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        results: list[SendResult | None] = [None] * len(messages)
        pushes = self._prepare(messages, results)
        refreshed = False
        for _ in range(MAX_ROUNDS):
            if not pushes:
                break
            try:
                connection = await self._connect()
            except (OSError, TimeoutError, ConnectionError) as exc:
                log.warning("APNs connection to %s:%s failed: %s", self._host, self._port, exc)
                for push in pushes:
                    results[push.index] = retry(messages[push.index], detail=f"cannot connect to APNs: {exc}")
                return _complete(results)
            authorization = self._token.current()
            generation = self._token.generation
            answers = await self._round(connection, pushes, authorization)
            resend: list[_Push] = []
            for push, answer in zip(pushes, answers, strict=True):
                message = messages[push.index]
                if isinstance(answer, Unprocessed):
                    resend.append(push)
                elif isinstance(answer, StreamFailed):
                    results[push.index] = retry(message, detail=str(answer))
                elif answer.status == 403 and _reason(answer) == "ExpiredProviderToken":
                    if generation < self._token.generation:
                        resend.append(push)  # already re-signed by another round
                    elif not refreshed:
                        self._token.refresh()
                        refreshed = True
                        resend.append(push)
                    else:
                        results[push.index] = fail(
                            message,
                            FailureReason.AUTHENTICATION,
                            "ExpiredProviderToken right after re-signing",
                        )
                else:
                    results[push.index] = _result(message, answer)
            pushes = resend
        for push in pushes:
            results[push.index] = retry(messages[push.index], detail="connections kept going away")
        return _complete(results)

    def _prepare(self, messages: Sequence[OutboundMessage], results: list[SendResult | None]) -> list[_Push]:
        """Encode every sendable message; refusals become results without a request."""
        now = int(time.time())
        paths = _paths(messages)
        apns_ids = _apns_ids(messages)
        shared: dict[tuple[bool, str, int | None, str], tuple[Header, ...] | Refusal] = {}
        notifications: dict[int, tuple[bytes, tuple[Header, ...]] | Refusal] = {}
        pushes: list[_Push] = []
        for index, message in enumerate(messages):
            path = paths[index]
            if path is None:
                results[index] = fail(message, FailureReason.INVALID_ADDRESS, "not a hex APNs device token")
                continue
            notification = notifications.get(id(message.content))
            if notification is None:
                notification = notifications[id(message.content)] = self._notification(
                    message.content, shared, now
                )
            if isinstance(notification, Refusal):
                results[index] = fail(message, notification.reason, notification.detail)
                continue
            pushes.append(_Push(index, path, notification[1], apns_ids[index], notification[0]))
        return pushes

    def _notification(
        self,
        content: MessageContent,
        shared: dict[tuple[bool, str, int | None, str], tuple[Header, ...] | Refusal],
        now: int,
    ) -> tuple[bytes, tuple[Header, ...]] | Refusal:
        """The body and apns-* headers of ``content`` (the headers from ``shared``, filled as needed)."""
        try:
            body = body_of(content)
        except Refusal as refusal:
            return refusal
        key = headers_key(content)
        headers = shared.get(key)
        if headers is None:
            try:
                headers = shared[key] = headers_of(content, self._topic, now)
            except Refusal as refusal:
                headers = shared[key] = refusal
        return headers if isinstance(headers, Refusal) else (body, headers)

    async def _connect(self) -> H2ClientConnection:
        async with self._connecting:
            if self._connection is None or not self._connection.usable:
                async with asyncio.timeout(self._timeout):
                    self._connection = await connect(
                        self._host, self._port, self._ssl, max_streams=self._max_streams, unindexed=_UNINDEXED
                    )
            return self._connection

    async def _round(
        self, connection: H2ClientConnection, pushes: list[_Push], authorization: bytes
    ) -> list[Response | StreamFailed]:
        """Start every push at once; wait until each is answered (or the connection is given up)."""
        answers: list[Response | StreamFailed | None] = [None] * len(pushes)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiting = len(pushes)

        def answer(tag: int, outcome: Response | StreamFailed) -> None:
            nonlocal waiting
            answers[tag] = outcome
            waiting -= 1
            if not waiting and not done.done():
                done.set_result(None)

        head = self._head
        runs: dict[int, Run] = {}  # id(push.headers) -> its run with the authorization
        for tag, push in enumerate(pushes):
            run = runs.get(id(push.headers))
            if run is None:
                run = runs[id(push.headers)] = self._run(authorization, push.headers)
            connection.request(Push(head, push.path, run, push.apns_id), push.body, answer, tag)
        try:
            await asyncio.wait_for(asyncio.shield(done), self._timeout)
        except TimeoutError:
            connection.abort(StreamFailed(f"no answer from APNs within {self._timeout} s"))
        return answers  # type: ignore[return-value]  # every tag was answered

    def _run(self, authorization: bytes, headers: tuple[Header, ...]) -> Run:
        """The fields after :path that a push shares with every push of the same headers."""
        key = (authorization, headers)
        run = self._runs.get(key)
        if run is None:
            if len(self._runs) >= MAX_RUNS:  # expirations that move with the clock
                self._runs.clear()
            run = self._runs[key] = ((b"authorization", authorization), *headers)
        return run

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None


def _result(message: OutboundMessage, response: Response) -> SendResult:
    """Apple's status codes and reasons, as Herald's outcomes."""
    status = response.status
    if status == 200:
        apns_id = response.header(b"apns-id") or b""
        return SendResult(message.message_id, Outcome.ACCEPTED, provider_id=apns_id.decode())
    reason = _reason(response)
    detail = f"{status} {reason}"
    if status == 410:
        return fail(message, FailureReason.UNREGISTERED, detail)
    if status == 400 and reason in _CONFIG_SUSPECT_REASONS:
        return fail(message, FailureReason.CONFIG_SUSPECT, detail)
    if status in (429, 500, 503):
        # Apple documents no Retry-After, but a proxy in between (or a future APNs) may send one.
        after = response.header(b"retry-after")
        return retry(message, after=retry_after(after.decode()) if after else None, detail=detail)
    if status == 403 and reason in _AUTHENTICATION_REASONS:
        return fail(message, FailureReason.AUTHENTICATION, detail)
    if status == 413:
        return fail(message, FailureReason.PAYLOAD_TOO_LARGE, detail)
    return fail(message, FailureReason.REJECTED, detail)


def _reason(response: Response) -> str:
    try:
        body = orjson.loads(response.body)
    except orjson.JSONDecodeError:
        return ""
    reason = body.get("reason", "") if isinstance(body, dict) else ""
    return reason if isinstance(reason, str) else ""


def _complete(results: list[SendResult | None]) -> list[SendResult]:
    assert all(result is not None for result in results)
    return results  # type: ignore[return-value]


def _paths(messages: Sequence[OutboundMessage]) -> list[bytes | None]:
    """Each message's :path, None for an address that is not a hex device token."""
    tokens = _every_matching([message.address for message in messages], _HEX_TOKENS)
    if tokens is not None:
        return [b"/3/device/" + token for token in tokens]
    return [b"/3/device/" + m.address.encode() if _HEX_TOKEN.fullmatch(m.address) else None for m in messages]


def _apns_ids(messages: Sequence[OutboundMessage]) -> list[bytes | None]:
    """Each message's apns-id, None for a message id that is not a UUID."""
    ids = _every_matching([message.message_id for message in messages], _CANONICAL_UUIDS)
    if ids is not None:
        return ids  # type: ignore[return-value]  # list is invariant
    return [_canonical_uuid(m.message_id) or None for m in messages]


def _every_matching(values: list[str], lines: re.Pattern[str]) -> list[bytes] | None:
    """``values`` encoded when ``lines`` matches them joined one a line (a value holding a line break
    counts as several), None otherwise."""
    joined = "\n".join(values)
    if not lines.fullmatch(joined):
        return None
    encoded = joined.encode().split(b"\n")
    return encoded if len(encoded) == len(values) else None


def _canonical_uuid(message_id: str) -> bytes:
    """apns-id must be a canonical (lower-case, hyphenated) UUID; other message ids are not sent."""
    if CANONICAL_UUID.fullmatch(message_id):  # Herald's own ids: no round trip through uuid.UUID
        return message_id.encode()
    try:
        return str(uuid.UUID(message_id)).encode()
    except ValueError:
        return b""


def _client_context(host: str) -> ssl.SSLContext:
    """Verified TLS for Apple; a loopback endpoint (the emulator) may present a self-signed certificate."""
    if _is_loopback(host):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["h2"])
    return context


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
