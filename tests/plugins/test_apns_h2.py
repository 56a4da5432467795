"""The APNs HTTP/2 layer (plugins.apns.h2hpack, h2wire, h2client, h2server) checked against the
``hpack`` and ``h2`` libraries as independent implementations: HPACK round trips both ways and RFC
7541's own examples, frames cut at arbitrary points, both directions of a connection with a third-party
peer, and RFC 9113's connection and stream errors."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import h2.config
import h2.connection
import h2.errors
import h2.events
import hpack
import pytest
from h2.settings import SettingCodes, Settings
from hyperframe.frame import Frame, GoAwayFrame, PingFrame, RstStreamFrame, SettingsFrame, WindowUpdateFrame
from hypothesis import given, settings
from hypothesis import strategies as st

from kernel.channels import MessageContent, OutboundMessage, Outcome
from plugins._tls import self_signed_tls
from plugins.apns.config import ApnsConfig
from plugins.apns.emulator import ApnsEmulator
from plugins.apns.h2client import H2ClientConnection, Response, StreamFailed, Unprocessed, connect
from plugins.apns.h2hpack import Decoder, Encoder, Header, HpackError, encode_integer
from plugins.apns.h2wire import (
    CONTINUATION,
    DATA,
    DISCARDED_MEMORY,
    END_HEADERS,
    END_STREAM,
    GOAWAY,
    HEADERS,
    PADDED,
    PING,
    PREFACE,
    PRIORITY,
    PRIORITY_FLAG,
    PUSH_PROMISE,
    RST_STREAM,
    SETTINGS,
    WINDOW_UPDATE,
    ErrorCode,
    H2Connection,
    ProtocolError,
    Setting,
    Stream,
)
from plugins.apns.sender import ApnsSender, _client_context
from tests.plugins.test_apns import ALERT_BODY, emulator, request_headers

__all__ = ["emulator"]  # the fixture

# -- HPACK ----------------------------------------------------------------------------------------

NAMES = st.sampled_from(
    [
        b":method",
        b":path",
        b":authority",
        b"authorization",
        b"apns-id",
        b"apns-topic",
        b"content-type",
        b"x-a",
    ]
) | st.binary(min_size=1, max_size=12)
FIELDS = st.tuples(NAMES, st.binary(max_size=120) | st.sampled_from([b"POST", b"200", b"/", b"gzip"]))
HEADER_LISTS = st.lists(FIELDS, max_size=10)
TABLE_LIMITS = st.integers(min_value=0, max_value=8192)


@settings(max_examples=300, deadline=None)  # the reference libraries are slow on a busy machine
@given(st.lists(HEADER_LISTS | TABLE_LIMITS, min_size=1, max_size=10))
def test_encoded_blocks_decode_with_the_hpack_library(steps: list[list[Header] | int]) -> None:
    """Also after the peer changes SETTINGS_HEADER_TABLE_SIZE (evictions, size updates)."""
    encoder = Encoder(unindexed=[b":path", b"apns-id"])
    reference = hpack.Decoder()
    ours = Decoder()
    for step in steps:
        if isinstance(step, int):
            encoder.set_table_limit(step)
            reference.max_allowed_table_size = min(step, 4096)
            continue
        block = encoder.encode(step)
        assert reference.decode(block, raw=True) == step
        assert ours.decode(block) == step


@settings(max_examples=300, deadline=None)  # the reference libraries are slow on a busy machine
@given(
    st.lists(st.tuples(st.lists(FIELDS, min_size=1, max_size=10), HEADER_LISTS), min_size=1, max_size=3),
    st.lists(st.tuples(st.lists(st.integers(0, 2), max_size=4), HEADER_LISTS) | TABLE_LIMITS, max_size=10),
)
def test_runs_are_encoded_as_their_fields_are(
    run_lists: list[tuple[list[Header], list[Header]]], steps: list[tuple[list[int], list[Header]] | int]
) -> None:
    """The same run objects in block after block, while the table fills, evicts and is resized: each block
    is what the run's fields one by one would be, and decodes with the hpack library."""
    runs: list[tuple[Header, ...]] = [tuple(first + second) for first, second in run_lists]
    with_runs, one_by_one = (
        Encoder(unindexed=[b":path", b"apns-id"]),
        Encoder(unindexed=[b":path", b"apns-id"]),
    )
    reference = hpack.Decoder()
    for step in steps:
        if isinstance(step, int):
            for encoder in (with_runs, one_by_one):
                encoder.set_table_limit(step)
            reference.max_allowed_table_size = min(step, 4096)
            continue
        chosen, tail = step
        items: list[Header | tuple[Header, ...]] = [runs[i % len(runs)] for i in chosen] + tail
        fields = [field for i in chosen for field in runs[i % len(runs)]] + tail
        block = with_runs.encode(items)
        assert block == one_by_one.encode(fields)
        assert reference.decode(block, raw=True) == fields


@settings(max_examples=300, deadline=None)  # the reference libraries are slow on a busy machine
@given(
    st.lists(st.tuples(HEADER_LISTS, st.booleans(), st.none() | st.integers(0, 4096)), min_size=1, max_size=8)
)
def test_blocks_of_the_hpack_library_decode(steps: list[tuple[list[Header], bool, int | None]]) -> None:
    """Huffman-coded or not, with the table resized between blocks."""
    reference = hpack.Encoder()
    decoder = Decoder()
    for headers, huffman, table_size in steps:
        if table_size is not None:
            reference.header_table_size = table_size
        assert decoder.decode(reference.encode(headers, huffman=huffman)) == headers
        assert decoder.list_size == sum(len(name) + len(value) + 32 for name, value in headers)


@settings(max_examples=500, deadline=None)  # the reference libraries are slow on a busy machine
@given(st.binary(max_size=80))
def test_arbitrary_bytes_decode_as_the_hpack_library_does_or_fail_cleanly(data: bytes) -> None:
    try:
        ours: list[Header] | None = Decoder().decode(data)
    except HpackError:
        ours = None
    try:
        theirs = hpack.Decoder().decode(data, raw=True)
    except hpack.HPACKError:
        theirs = None
    assert ours == theirs


RFC7541_REQUESTS = [  # Appendix C.3 (plain) and C.4 (Huffman): one connection's three requests
    [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/"), (b":authority", b"www.example.com")],
    [
        (b":method", b"GET"),
        (b":scheme", b"http"),
        (b":path", b"/"),
        (b":authority", b"www.example.com"),
        (b"cache-control", b"no-cache"),
    ],
    [
        (b":method", b"GET"),
        (b":scheme", b"https"),
        (b":path", b"/index.html"),
        (b":authority", b"www.example.com"),
        (b"custom-key", b"custom-value"),
    ],
]
RFC7541_PLAIN = [
    "828684410f7777772e6578616d706c652e636f6d",
    "828684be58086e6f2d6361636865",
    "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565",
]
RFC7541_HUFFMAN = [
    "828684418cf1e3c2e5f23a6ba0ab90f4ff",
    "828684be5886a8eb10649cbf",
    "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf",
]


def test_rfc7541_examples() -> None:
    encoder, plain, huffman = Encoder(), Decoder(), Decoder()
    for headers, plain_hex, huffman_hex in zip(RFC7541_REQUESTS, RFC7541_PLAIN, RFC7541_HUFFMAN, strict=True):
        assert encoder.encode(headers).hex() == plain_hex
        assert plain.decode(bytes.fromhex(plain_hex)) == headers
        assert huffman.decode(bytes.fromhex(huffman_hex)) == headers


@pytest.mark.parametrize(
    "block",
    [
        "80",  # index 0
        "be",  # index 62, empty dynamic table
        "3fe21f",  # table size update to 4097, above the 4096 advertised
        "8220",  # table size update after a field
        "0f",  # integer cut short
        "000561",  # string longer than the block
        "ffffffffffff7f",  # integer beyond 2**28
        "008100",  # Huffman string with padding that is not all ones
        "0081ff01",  # Huffman string ending inside a code (more than 7 bits of padding)
    ],
)
def test_malformed_blocks_are_compression_errors(block: str) -> None:
    with pytest.raises(HpackError):
        Decoder().decode(bytes.fromhex(block))


def test_a_field_larger_than_the_table_empties_it() -> None:
    decoder = Decoder()
    small = (b"a", b"b")
    big = (b"c", b"d" * 5000)
    encoder = hpack.Encoder()
    decoder.decode(encoder.encode([small], huffman=False))
    block = b"\x40\x01c" + encode_integer(5000, 7, 0) + big[1]  # a literal with incremental indexing
    assert decoder.decode(block) == [big]
    with pytest.raises(HpackError):
        decoder.decode(b"\xbe")  # the small entry went with it


# -- framing --------------------------------------------------------------------------------------


class Endpoint(H2Connection):
    """The core with hooks that record what they are told, accepting every stream the peer opens."""

    def __init__(
        self,
        *,
        client: bool,
        connection_window: int = 65_535,
        unindexed: Sequence[bytes] = (b":path",),
        **settings: int,
    ) -> None:
        super().__init__(
            client=client,
            settings={Setting[name.upper()]: value for name, value in settings.items()},
            connection_window=connection_window,
            unindexed=unindexed,
        )
        self.events: list[tuple[Any, ...]] = []

    def _on_headers(
        self, stream_id: int, stream: Stream | None, headers: list[Header], end_stream: bool
    ) -> None:
        if stream is None:
            self.adopt_stream(Stream(), stream_id, end_stream)
        self.events.append(("headers", stream_id, headers, end_stream))

    def _on_data(self, stream: Stream, data: bytes, end_stream: bool) -> None:
        self.events.append(("data", stream.id, data, end_stream))

    def _on_reset(self, stream: Stream, code: int) -> None:
        self.events.append(("reset", stream.id, code))

    def _on_goaway(self, last_stream_id: int, code: int, debug: bytes) -> None:
        self.events.append(("goaway", last_stream_id, code, debug))

    def _on_settings(self) -> None:
        self.events.append(("settings",))


def frame(kind: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    return len(payload).to_bytes(3, "big") + bytes((kind, flags)) + stream_id.to_bytes(4, "big") + payload


def frames(data: bytes) -> Iterator[Any]:
    """Frames parsed by hyperframe (h2's own parser); Any, as the tests read each kind's own fields."""
    while data:
        parsed, length = Frame.parse_frame_header(memoryview(data[:9]))
        parsed.parse_body(memoryview(data[9 : 9 + length]))
        yield parsed
        data = data[9 + length :]


def h2_peer(*, client: bool, **settings: int) -> h2.connection.H2Connection:
    config = h2.config.H2Configuration(client_side=client, header_encoding=None)
    peer = h2.connection.H2Connection(config)
    codes = {SettingCodes[name.upper()]: value for name, value in settings.items()}
    peer.local_settings = Settings(client=client, initial_values=codes)
    peer.initiate_connection()
    return peer


def exchange(ours: H2Connection, peer: h2.connection.H2Connection) -> list[h2.events.Event]:
    """Pass bytes both ways until neither side has anything to send; the peer's events."""
    events: list[h2.events.Event] = []
    while True:
        theirs = peer.data_to_send()
        if theirs:
            ours.receive_data(theirs)
        mine = ours.data_to_send()
        if mine:
            events.extend(peer.receive_data(mine))
        if not theirs and not mine:
            return events


def cut(data: bytes, points: list[int]) -> list[bytes]:
    bounds = sorted({0, len(data), *(point % (len(data) + 1) for point in points)})
    return [data[start:end] for start, end in itertools.pairwise(bounds)]


REQUEST = [
    (b":method", b"POST"),
    (b":scheme", b"https"),
    (b":authority", b"apns"),
    (b":path", b"/3/device/a"),
]


@settings(max_examples=150, deadline=None)  # the reference libraries are slow on a busy machine
@given(
    st.lists(
        st.tuples(st.binary(max_size=20_000), st.integers(0, 255), st.integers(0, 20_000)),
        min_size=1,
        max_size=6,
    ),
    st.lists(st.integers(min_value=0), max_size=30),
)
def test_requests_cut_anywhere_arrive_whole(
    requests: list[tuple[bytes, int, int]], points: list[int]
) -> None:
    """h2's frames, cut at arbitrary points: padded DATA, bodies over several frames, header blocks
    over HEADERS and CONTINUATION (values above 16 KiB), all decoded as sent."""
    peer = h2_peer(client=True)
    server = Endpoint(
        client=False, connection_window=1 << 20, initial_window_size=1 << 20, max_header_list_size=1 << 20
    )
    server.initiate()
    exchange(server, peer)
    expected = []
    for body, padding, header_size in requests:
        stream_id = peer.get_next_available_stream_id()
        headers = [*REQUEST, (b"x-big", b"v" * header_size)]
        peer.send_headers(stream_id, headers, end_stream=not body)
        for start in range(0, len(body), 10_000):
            end_stream = start + 10_000 >= len(body)
            peer.send_data(stream_id, body[start : start + 10_000], end_stream=end_stream, pad_length=padding)
        expected.append((stream_id, headers, body))
    for chunk in cut(peer.data_to_send(), points):
        server.receive_data(chunk)
    received: dict[int, tuple[list[Header], bytes]] = {}
    ended = set()
    for event in server.events[1:]:
        if event[0] == "headers":
            received[event[1]] = (event[2], b"")
        else:
            assert event[0] == "data"
            received[event[1]] = (received[event[1]][0], received[event[1]][1] + event[2])
        if event[3]:
            ended.add(event[1])
    assert server.events[0] == ("settings",)
    assert received == {stream_id: (headers, body) for stream_id, headers, body in expected}
    assert ended == set(received)


def test_responses_wait_for_the_peers_window_and_decode_with_h2() -> None:
    """A body above the client's 65,535-byte windows goes out as its WINDOW_UPDATEs arrive."""
    peer = h2_peer(client=True)
    server = Endpoint(client=False, max_concurrent_streams=10)
    server.initiate()
    exchange(server, peer)
    peer.send_headers(1, REQUEST, end_stream=True)
    exchange(server, peer)
    body = bytes(range(256)) * 600  # 153,600 bytes
    stream = server.streams[1]
    server.send_headers(stream, [(b":status", b"200"), (b"apns-id", b"x")], end_stream=False)
    server.send_data(stream, body)
    received = b""
    events: list[h2.events.Event] = []
    for _ in range(20):
        mine = server.data_to_send()
        if not mine:
            break
        for event in peer.receive_data(mine):
            events.append(event)
            if isinstance(event, h2.events.DataReceived):
                received += event.data
                peer.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        server.receive_data(peer.data_to_send())
    response = next(event for event in events if isinstance(event, h2.events.ResponseReceived))
    assert response.headers == [(b":status", b"200"), (b"apns-id", b"x")]
    assert received == body
    assert any(isinstance(event, h2.events.StreamEnded) for event in events)
    assert not server.streams


def test_requests_decode_with_h2_and_its_huffman_answers_decode_here() -> None:
    """A header block above the peer's frame size goes out as HEADERS + CONTINUATION."""
    client = Endpoint(client=True, enable_push=0)
    peer = h2_peer(client=False)
    client.initiate()
    exchange(client, peer)
    sent = []
    for index in range(3):
        stream = Stream()
        assert client.open_stream(stream)
        headers = [
            *REQUEST[:3],
            (b":path", b"/%d" % index),
            (b"authorization", b"bearer t"),
            (b"x", b"y" * 20_000),
        ]
        client.send_headers(stream, headers, end_stream=False)
        client.send_data(stream, b"body %d" % index)
        sent.append(headers)
    events = exchange(client, peer)
    requests = [event for event in events if isinstance(event, h2.events.RequestReceived)]
    assert [event.headers for event in requests] == sent
    assert [event.data for event in events if isinstance(event, h2.events.DataReceived)] == [
        b"body 0",
        b"body 1",
        b"body 2",
    ]
    for event in requests:
        peer.send_headers(event.stream_id, [(b":status", b"410"), (b"apns-id", b"abc")], end_stream=False)
        peer.send_data(event.stream_id, b'{"reason":"Unregistered"}', end_stream=True)
    client.events.clear()
    exchange(client, peer)
    assert [event for event in client.events if event[0] == "headers"] == [
        ("headers", stream_id, [(b":status", b"410"), (b"apns-id", b"abc")], False) for stream_id in (1, 3, 5)
    ]
    assert not client.streams


def handshaken(**settings: int) -> Endpoint:
    """A server endpoint past the client's preface and SETTINGS, with its own output drained."""
    server = Endpoint(client=False, **settings)
    server.initiate()
    server.receive_data(PREFACE + frame(SETTINGS, 0, 0))
    server.data_to_send()
    return server


def goaway_code(endpoint: H2Connection, data: bytes) -> ErrorCode:
    with pytest.raises(ProtocolError) as raised:
        endpoint.receive_data(data)
    goaway = [parsed for parsed in frames(endpoint.data_to_send()) if isinstance(parsed, GoAwayFrame)]
    assert len(goaway) == 1 and goaway[0].error_code == raised.value.code
    return raised.value.code


def block(headers: list[Header]) -> bytes:
    return hpack.Encoder().encode(headers)


OPEN_STREAM_1 = frame(HEADERS, END_HEADERS, 1, block(REQUEST))


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (frame(DATA, 0, 0, b"x"), ErrorCode.PROTOCOL_ERROR),
        (frame(HEADERS, END_HEADERS, 0, block(REQUEST)), ErrorCode.PROTOCOL_ERROR),
        (frame(HEADERS, END_HEADERS, 2, block(REQUEST)), ErrorCode.PROTOCOL_ERROR),  # even: servers' ids
        (frame(DATA, 0, 1, b"x" * 16_385), ErrorCode.FRAME_SIZE_ERROR),
        (frame(PING, 0, 0, b"1234567"), ErrorCode.FRAME_SIZE_ERROR),
        (frame(PING, 0, 1, b"12345678"), ErrorCode.PROTOCOL_ERROR),
        (frame(SETTINGS, 1, 0, b"\x00" * 6), ErrorCode.FRAME_SIZE_ERROR),
        (frame(SETTINGS, 0, 0, b"\x00" * 5), ErrorCode.FRAME_SIZE_ERROR),
        (frame(SETTINGS, 0, 1), ErrorCode.PROTOCOL_ERROR),
        (frame(SETTINGS, 0, 0, b"\x00\x04\x80\x00\x00\x00"), ErrorCode.FLOW_CONTROL_ERROR),
        (frame(SETTINGS, 0, 0, b"\x00\x05\x00\x00\x00\x64"), ErrorCode.PROTOCOL_ERROR),
        (frame(SETTINGS, 0, 0, b"\x00\x02\x00\x00\x00\x02"), ErrorCode.PROTOCOL_ERROR),
        (frame(WINDOW_UPDATE, 0, 0, b"\x00\x00\x00\x00"), ErrorCode.PROTOCOL_ERROR),
        (frame(WINDOW_UPDATE, 0, 0, b"\x7f\xff\xff\xff"), ErrorCode.FLOW_CONTROL_ERROR),
        (frame(WINDOW_UPDATE, 0, 0, b"\x00\x01"), ErrorCode.FRAME_SIZE_ERROR),
        (frame(WINDOW_UPDATE, 0, 9, b"\x00\x00\x00\x01"), ErrorCode.PROTOCOL_ERROR),  # idle stream
        (frame(RST_STREAM, 0, 5, b"\x00\x00\x00\x08"), ErrorCode.PROTOCOL_ERROR),  # idle stream
        (frame(RST_STREAM, 0, 0, b"\x00\x00\x00\x08"), ErrorCode.PROTOCOL_ERROR),
        (OPEN_STREAM_1 + frame(RST_STREAM, 0, 1, b"\x00\x08"), ErrorCode.FRAME_SIZE_ERROR),
        (frame(PUSH_PROMISE, END_HEADERS, 1, b"\x00\x00\x00\x02"), ErrorCode.PROTOCOL_ERROR),
        (frame(CONTINUATION, END_HEADERS, 1, b"\x82"), ErrorCode.PROTOCOL_ERROR),
        (frame(HEADERS, 0, 1, block(REQUEST)) + frame(PING, 0, 0, b"12345678"), ErrorCode.PROTOCOL_ERROR),
        (
            frame(HEADERS, 0, 1, block(REQUEST)) + frame(CONTINUATION, END_HEADERS, 3),
            ErrorCode.PROTOCOL_ERROR,
        ),
        (frame(HEADERS, END_HEADERS, 1, b"\x80"), ErrorCode.COMPRESSION_ERROR),
        (frame(DATA, 0, 7, b"x"), ErrorCode.PROTOCOL_ERROR),  # idle stream
        (OPEN_STREAM_1 + frame(DATA, PADDED, 1, b"\x05abcd"), ErrorCode.PROTOCOL_ERROR),
        (frame(HEADERS, PRIORITY_FLAG | END_HEADERS, 1, b"\x00\x00"), ErrorCode.FRAME_SIZE_ERROR),
        (
            frame(HEADERS, PADDED | PRIORITY_FLAG | END_HEADERS, 1, b"\x03\x00\x00\x00"),
            ErrorCode.PROTOCOL_ERROR,
        ),
        (frame(GOAWAY, 0, 1, b"\x00" * 8), ErrorCode.PROTOCOL_ERROR),
        (frame(PRIORITY, 0, 0, b"\x00\x00\x00\x01\x10"), ErrorCode.PROTOCOL_ERROR),
        # The CONTINUATION flood: a header block that never ends, above the 64 KiB header list limit.
        (frame(HEADERS, 0, 1) + frame(CONTINUATION, 0, 1, b"\x00" * 16_384) * 5, ErrorCode.ENHANCE_YOUR_CALM),
        (frame(GOAWAY, 0, 0, b"\x00" * 7), ErrorCode.FRAME_SIZE_ERROR),
    ],
)
def test_connection_errors(data: bytes, code: ErrorCode) -> None:
    assert goaway_code(handshaken(), data) == code


def test_a_stream_above_its_window_is_a_flow_control_error() -> None:
    server = handshaken(initial_window_size=10)
    assert goaway_code(server, OPEN_STREAM_1 + frame(DATA, 0, 1, b"x" * 11)) == ErrorCode.FLOW_CONTROL_ERROR


def test_a_connection_above_its_window_is_a_flow_control_error() -> None:
    """Its window is reopened as data arrives, so only a frame larger than the window can overflow it."""
    server = handshaken(initial_window_size=1 << 20, max_frame_size=1 << 17)
    data = OPEN_STREAM_1 + frame(DATA, 0, 1, b"x" * 65_536)
    assert goaway_code(server, data) == ErrorCode.FLOW_CONTROL_ERROR


def test_the_first_frames_are_checked() -> None:
    server = Endpoint(client=False)
    assert goaway_code(server, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") == ErrorCode.PROTOCOL_ERROR
    server = Endpoint(client=False)
    assert goaway_code(server, PREFACE + frame(PING, 0, 0, b"12345678")) == ErrorCode.PROTOCOL_ERROR
    client = Endpoint(client=True)
    push = frame(SETTINGS, 0, 0, b"\x00\x02\x00\x00\x00\x01")
    assert goaway_code(client, push) == ErrorCode.PROTOCOL_ERROR  # a server may not enable push


def test_data_after_the_stream_ended_is_an_error() -> None:
    server = handshaken()
    server.receive_data(frame(HEADERS, END_HEADERS | END_STREAM, 1, block(REQUEST)))
    server.receive_data(frame(DATA, 0, 1, b"late"))  # half-closed (remote): a stream error
    assert [(parsed.stream_id, parsed.error_code) for parsed in frames(server.data_to_send())] == [
        (1, ErrorCode.STREAM_CLOSED)
    ]
    assert server.events[-1] == ("reset", 1, ErrorCode.STREAM_CLOSED)
    server.receive_data(frame(HEADERS, END_HEADERS | END_STREAM, 5, block(REQUEST)))
    server.receive_data(frame(HEADERS, END_HEADERS | END_STREAM, 5, block(REQUEST)))
    assert [(parsed.stream_id, parsed.error_code) for parsed in frames(server.data_to_send())] == [
        (5, ErrorCode.STREAM_CLOSED)
    ]
    server.receive_data(frame(HEADERS, END_HEADERS | END_STREAM, 7, block(REQUEST)))
    server.send_headers(server.streams[7], [(b":status", b"200")], end_stream=True)  # closed both ways
    server.data_to_send()
    assert goaway_code(server, frame(DATA, 0, 7, b"late")) == ErrorCode.STREAM_CLOSED


def test_a_stream_id_below_the_last_one_is_closed() -> None:
    """Opening stream 5 closes the unused stream 3 (RFC 9113 5.1.1)."""
    server = handshaken()
    server.receive_data(frame(HEADERS, END_HEADERS | END_STREAM, 5, block(REQUEST)))
    assert goaway_code(server, frame(HEADERS, END_HEADERS, 3, block(REQUEST))) == ErrorCode.STREAM_CLOSED


def test_frames_on_streams_it_reset_are_ignored_but_counted() -> None:
    server = handshaken()
    server.receive_data(OPEN_STREAM_1)
    server.reset_stream(1, ErrorCode.REFUSED_STREAM)
    server.data_to_send()
    late = [frame(DATA, 0, 1, b"x" * 16_000)] * 3 + [frame(HEADERS, END_HEADERS | END_STREAM, 1, block([]))]
    server.receive_data(b"".join(late))
    (update,) = frames(server.data_to_send())  # the connection's window is reopened all the same
    assert isinstance(update, WindowUpdateFrame) and (update.stream_id, update.window_increment) == (
        0,
        48_000,
    )


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (frame(WINDOW_UPDATE, 0, 1, b"\x00\x00\x00\x00"), ErrorCode.PROTOCOL_ERROR),
        (frame(WINDOW_UPDATE, 0, 1, b"\x7f\xff\xff\xff"), ErrorCode.FLOW_CONTROL_ERROR),
        (frame(PRIORITY, 0, 1, b"\x00\x00\x00\x03"), ErrorCode.FRAME_SIZE_ERROR),
        (frame(PRIORITY, 0, 1, b"\x00\x00\x00\x01\x10"), ErrorCode.PROTOCOL_ERROR),  # depends on itself
    ],
)
def test_stream_errors_reset_the_stream_only(data: bytes, code: ErrorCode) -> None:
    server = handshaken()
    server.receive_data(OPEN_STREAM_1 + data + frame(PING, 0, 0, b"still up"))
    sent = list(frames(server.data_to_send()))
    assert [(type(parsed), parsed.stream_id) for parsed in sent] == [(RstStreamFrame, 1), (PingFrame, 0)]
    assert sent[0].error_code == code
    assert server.events[-1] == ("reset", 1, code) and not server.streams


def test_headers_depending_on_themselves_reset_the_stream() -> None:
    server = handshaken()
    server.receive_data(
        frame(HEADERS, PRIORITY_FLAG | END_HEADERS, 1, b"\x00\x00\x00\x01\x10" + block(REQUEST))
    )
    (reset,) = frames(server.data_to_send())
    assert isinstance(reset, RstStreamFrame) and reset.error_code == ErrorCode.PROTOCOL_ERROR


def test_ping_settings_and_unknown_frames() -> None:
    server = handshaken()
    server.receive_data(
        frame(0xFA, 0xFF, 0, b"unknown types are ignored")
        + frame(PING, 0, 0, b"abcdefgh")
        + frame(PING, 1, 0, b"an ack!!")
        + frame(SETTINGS, 0, 0, b"\x00\x01\x00\x00\x00\x00\x00\x09\x00\x00\x00\x01")  # table 0, unknown 9
    )
    sent = list(frames(server.data_to_send()))
    assert [type(parsed) for parsed in sent] == [PingFrame, SettingsFrame]
    assert sent[0].flags == {"ACK"} and sent[0].opaque_data == b"abcdefgh"
    assert sent[1].flags == {"ACK"}
    # SETTINGS_HEADER_TABLE_SIZE 0: the next header block starts by emptying the table.
    server.receive_data(OPEN_STREAM_1)
    server.send_headers(server.streams[1], [(b":status", b"200")], end_stream=True)
    (headers,) = frames(server.data_to_send())
    assert headers.data[:1] == b"\x20"


def test_a_larger_initial_window_releases_blocked_data() -> None:
    client = Endpoint(client=True)
    client.initiate()
    client.receive_data(frame(SETTINGS, 0, 0, b"\x00\x04\x00\x00\x00\x05"))  # stream windows of 5 bytes
    client.data_to_send()
    stream = Stream()
    client.open_stream(stream)
    client.send_headers(stream, REQUEST, end_stream=False)
    client.send_data(stream, b"0123456789")
    assert [parsed.data for parsed in frames(client.data_to_send()) if parsed.type == DATA] == [b"01234"]
    client.receive_data(frame(SETTINGS, 0, 0, b"\x00\x04\x00\x00\x00\x08"))  # 3 more bytes
    client.receive_data(frame(WINDOW_UPDATE, 0, 1, b"\x00\x00\x00\x10"))
    sent = [parsed for parsed in frames(client.data_to_send()) if parsed.type == DATA]
    assert [(parsed.data, "END_STREAM" in parsed.flags) for parsed in sent] == [
        (b"567", False),
        (b"89", True),
    ]


def test_goaway_is_reported() -> None:
    client = Endpoint(client=True)
    client.receive_data(frame(SETTINGS, 0, 0) + frame(GOAWAY, 0, 0, b"\x00\x00\x00\x05\x00\x00\x00\x00bye"))
    assert client.events[-1] == ("goaway", 5, 0, b"bye")


def test_a_larger_connection_window_is_announced() -> None:
    server = Endpoint(client=False, connection_window=1 << 24, max_concurrent_streams=3)
    server.initiate()
    (settings_frame, update) = frames(server.data_to_send())
    assert isinstance(settings_frame, SettingsFrame) and settings_frame.settings == {3: 3}
    assert isinstance(update, WindowUpdateFrame) and update.window_increment == (1 << 24) - 65_535


# -- the client and server over TLS, against h2 ----------------------------------------------------


class H2Server(asyncio.Protocol):
    """An APNs stand-in on h2: answers 200 with the apns-id, with a small stream window and a PING."""

    def __init__(self, received: list[bytes]) -> None:
        self.h2 = h2_peer(client=False, max_concurrent_streams=7, initial_window_size=1_000)
        self.received = received
        self.bodies: dict[int, bytes] = {}
        self.ids: dict[int, bytes] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.h2.ping(b"are u up")
        self.transport.write(self.h2.data_to_send())

    def data_received(self, data: bytes) -> None:
        for event in self.h2.receive_data(data):
            if isinstance(event, h2.events.RequestReceived):
                self.bodies[event.stream_id] = b""
                self.ids[event.stream_id] = dict(event.headers)[b"apns-id"]
            elif isinstance(event, h2.events.DataReceived):
                self.bodies[event.stream_id] += event.data
                self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                self.received.append(self.bodies.pop(event.stream_id))
                answer = [(b":status", b"200"), (b"apns-id", self.ids.pop(event.stream_id))]
                self.h2.send_headers(event.stream_id, answer, end_stream=True)
        self.transport.write(self.h2.data_to_send())


@pytest.fixture
async def h2_server() -> AsyncIterator[tuple[str, list[bytes]]]:
    received: list[bytes] = []
    context = self_signed_tls(["h2"])[0]
    server = await asyncio.get_running_loop().create_server(
        lambda: H2Server(received), "127.0.0.1", 0, ssl=context
    )
    yield f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}", received
    server.close()


async def test_the_sender_works_with_an_h2_server(h2_server: tuple[str, list[bytes]]) -> None:
    """Bodies above the server's 1,000-byte stream window, its 7-stream limit, its PING."""
    endpoint, received = h2_server
    config = ApnsConfig.parse(ApnsEmulator().credentials)
    sender = ApnsSender(config, endpoint)
    content = MessageContent(title="t", body="y" * 2_500)
    batch = [OutboundMessage(f"00000000-0000-4000-8000-{i:012x}", f"{i:064x}", content) for i in range(40)]
    try:
        results = await sender.send_batch(batch)
    finally:
        await sender.close()
    assert all(result.outcome is Outcome.ACCEPTED for result in results), results[:2]
    assert len(received) == 40 and all(len(body) > 2_500 for body in received)


# -- the client against a scripted h2 server --------------------------------------------------------


class ScriptedServer(asyncio.Protocol):
    """An h2 server answering each request as its path says; its stream windows are 100 bytes."""

    def __init__(self) -> None:
        config = h2.config.H2Configuration(
            client_side=False, header_encoding=None, validate_outbound_headers=False
        )
        self.h2 = h2.connection.H2Connection(config)
        self.h2.local_settings = Settings(
            client=False, initial_values={SettingCodes.INITIAL_WINDOW_SIZE: 100}
        )
        self.held = 0  # a stream answered only after a GOAWAY

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.h2.initiate_connection()
        self.transport.write(self.h2.data_to_send())

    def data_received(self, data: bytes) -> None:
        for event in self.h2.receive_data(data):
            if isinstance(event, h2.events.RequestReceived):
                self.answer(event.stream_id, dict(event.headers)[b":path"])
            elif isinstance(event, h2.events.DataReceived):
                self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        self.transport.write(self.h2.data_to_send())

    def answer(self, stream_id: int, path: bytes) -> None:
        send = self.h2.send_headers
        if path == b"/informational":
            send(stream_id, [(b":status", b"103"), (b"link", b"</a>")])
            send(stream_id, [(b":status", b"200")], end_stream=True)
        elif path == b"/trailers":
            send(stream_id, [(b":status", b"200")])
            self.h2.send_data(stream_id, b"body")
            send(stream_id, [(b"x-trailer", b"1")], end_stream=True)
        elif path == b"/early":  # before the body, above the stream window, is all in
            send(stream_id, [(b":status", b"413")], end_stream=True)
        elif path == b"/refused":
            self.h2.reset_stream(stream_id, h2.errors.ErrorCodes.REFUSED_STREAM)
        elif path == b"/reset":
            self.h2.reset_stream(stream_id, 0x99)  # a code RFC 9113 does not define
        elif path == b"/no-status":
            send(stream_id, [(b"x", b"y")], end_stream=True)
        elif path == b"/held":
            self.held = stream_id
        elif path == b"/goaway":  # h2 sends nothing after its own GOAWAY: this one goes around it
            self.transport.write(
                self.h2.data_to_send() + frame(GOAWAY, 0, 0, self.held.to_bytes(4, "big") * 2)
            )
            send(self.held, [(b":status", b"200")], end_stream=True)
        elif path == b"/data-first":  # h2 would not send it
            self.transport.write(self.h2.data_to_send() + frame(DATA, END_STREAM, stream_id, b"x"))
        elif path == b"/garbage":
            self.transport.write(self.h2.data_to_send() + frame(DATA, 0, 0, b"x"))  # DATA on stream 0


@pytest.fixture
async def scripted_port() -> AsyncIterator[int]:
    context = self_signed_tls(["h2"])[0]
    server = await asyncio.get_running_loop().create_server(ScriptedServer, "127.0.0.1", 0, ssl=context)
    yield server.sockets[0].getsockname()[1]
    server.close()


async def outcomes(
    port: int, *requests: tuple[bytes, bytes]
) -> tuple[list[Response | StreamFailed], H2ClientConnection]:
    """Send (path, body) requests at once on one connection; their outcomes in order."""
    connection = await connect("127.0.0.1", port, _client_context("127.0.0.1"), max_streams=10)
    answers: dict[int, Response | StreamFailed] = {}
    done = asyncio.Event()

    def answer(tag: int, outcome: Response | StreamFailed) -> None:
        answers[tag] = outcome
        if len(answers) == len(requests):
            done.set()

    for tag, (path, body) in enumerate(requests):
        headers = [(b":method", b"POST"), (b":scheme", b"https"), (b":authority", b"apns"), (b":path", path)]
        connection.request(headers, body, answer, tag)
    await asyncio.wait_for(done.wait(), 10)
    return [answers[tag] for tag in range(len(requests))], connection


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        (b"/informational", b"", "200 b''"),
        (b"/trailers", b"", "200 b'body'"),
        (b"/early", b"x" * 1_000, "413 b''"),
        (b"/refused", b"", "Unprocessed"),
        (b"/reset", b"", "StreamFailed: stream reset (error code 0x99)"),
        (b"/data-first", b"", "StreamFailed"),
        (b"/no-status", b"", "StreamFailed"),
        (b"/garbage", b"", "StreamFailed"),
    ],
)
async def test_client_outcomes(scripted_port: int, path: bytes, body: bytes, expected: str) -> None:
    (outcome,), connection = await outcomes(scripted_port, (path, body))
    try:
        if isinstance(outcome, Response):
            assert f"{outcome.status} {outcome.body!r}" == expected
        else:
            assert f"{type(outcome).__name__}: {outcome}".startswith(expected), outcome
    finally:
        await connection.close()


async def test_after_goaway_the_client_drains_then_closes(scripted_port: int) -> None:
    (held, refused), connection = await outcomes(scripted_port, (b"/held", b""), (b"/goaway", b""))
    assert isinstance(held, Response) and held.status == 200
    assert isinstance(refused, Unprocessed)
    await asyncio.wait_for(connection.closed_future, 10)
    later: list[StreamFailed | Response] = []
    connection.request([(b":path", b"/")], b"", lambda _, outcome: later.append(outcome), 0)
    assert isinstance(later[0], Unprocessed)


async def test_a_server_without_http2_is_refused() -> None:
    context = self_signed_tls()[0]  # no ALPN
    server = await asyncio.get_running_loop().create_server(asyncio.Protocol, "127.0.0.1", 0, ssl=context)
    try:
        with pytest.raises(ConnectionError):
            await connect(
                "127.0.0.1", server.sockets[0].getsockname()[1], _client_context("127.0.0.1"), max_streams=1
            )
    finally:
        server.close()


# -- the emulator's server side against an h2 client -----------------------------------------------


async def h2_session(
    emulator: ApnsEmulator, peer: h2.connection.H2Connection, streams: int
) -> dict[int, Any]:
    """Run ``peer``'s queued requests against the emulator; each stream's final event."""
    port = int(emulator.endpoint.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=_client_context("127.0.0.1"))
    writer.write(peer.data_to_send())
    final: dict[int, Any] = {}
    try:
        while len(final) < streams:
            data = await asyncio.wait_for(reader.read(65_536), 10)
            assert data, "the emulator closed the connection"
            for event in peer.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived | h2.events.StreamReset):
                    final[event.stream_id] = event
            writer.write(peer.data_to_send())
    finally:
        writer.close()
    return final


async def test_streams_beyond_the_limit_are_refused() -> None:
    """A client that opens streams before reading the server's SETTINGS exceeds its limit."""
    async with ApnsEmulator(max_concurrent_streams=2) as emulator:
        emulator.set_latency(0.2)
        peer = h2_peer(client=True)
        for stream_id in (1, 3, 5):
            peer.send_headers(stream_id, request_headers(emulator))
            peer.send_data(stream_id, ALERT_BODY, end_stream=True)
        final = await h2_session(emulator, peer, 3)
    assert isinstance(final[5], h2.events.StreamReset) and final[5].error_code == ErrorCode.REFUSED_STREAM
    assert [final[stream_id].headers[0] for stream_id in (1, 3)] == [(b":status", b"200")] * 2
    assert emulator.refused_streams == 1


async def test_trailers_are_accepted_and_answers_to_reset_streams_dropped(emulator: ApnsEmulator) -> None:
    emulator.set_latency(0.05)
    peer = h2_peer(client=True)
    peer.send_headers(1, request_headers(emulator))
    peer.send_data(1, ALERT_BODY)
    peer.send_headers(1, [(b"x-trailer", b"1")], end_stream=True)
    peer.send_headers(3, request_headers(emulator))
    peer.send_data(3, ALERT_BODY, end_stream=True)
    peer.reset_stream(3, h2.errors.ErrorCodes.CANCEL)  # before the emulator answers it
    peer.send_headers(5, request_headers(emulator))
    peer.send_data(5, ALERT_BODY, end_stream=True)
    final = await h2_session(emulator, peer, 2)
    assert sorted(final) == [1, 5]
    assert all(event.headers[0] == (b":status", b"200") for event in final.values())


async def test_a_protocol_error_gets_goaway(emulator: ApnsEmulator) -> None:
    port = int(emulator.endpoint.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=_client_context("127.0.0.1"))
    writer.write(PREFACE + frame(SETTINGS, 0, 0) + frame(DATA, 0, 0, b"x"))
    received = b""
    while chunk := await asyncio.wait_for(reader.read(65_536), 10):
        received += chunk
    writer.close()
    (goaway,) = [parsed for parsed in frames(received) if isinstance(parsed, GoAwayFrame)]
    assert goaway.error_code == ErrorCode.PROTOCOL_ERROR


def test_padded_headers_and_a_preface_in_pieces() -> None:
    server = Endpoint(client=False)
    server.receive_data(PREFACE[:10])
    server.receive_data(PREFACE[10:] + frame(SETTINGS, 0, 0))
    padded = b"\x03" + block(REQUEST) + b"\x00\x00\x00"
    server.receive_data(frame(HEADERS, PADDED | END_HEADERS | END_STREAM, 1, padded))
    assert server.events == [("settings",), ("headers", 1, REQUEST, True)]


def test_a_long_body_reopens_its_stream_window() -> None:
    server = handshaken()
    server.receive_data(OPEN_STREAM_1 + frame(DATA, 0, 1, b"x" * 16_384) * 2)
    updates = [(parsed.stream_id, parsed.window_increment) for parsed in frames(server.data_to_send())]
    assert updates == [(0, 32_768), (1, 32_768)]


def test_a_settings_change_that_overflows_a_stream_window_is_an_error() -> None:
    client = Endpoint(client=True)
    client.receive_data(frame(SETTINGS, 0, 0))
    client.open_stream(Stream())
    client.receive_data(frame(WINDOW_UPDATE, 0, 1, (2**31 - 1 - 65_535).to_bytes(4, "big")))
    larger = frame(SETTINGS, 0, 0, b"\x00\x04\x00\x01\x00\x00")  # 65,536
    assert goaway_code(client, larger) == ErrorCode.FLOW_CONTROL_ERROR


def test_stream_ids_run_out() -> None:
    client = Endpoint(client=True)
    client._next_local = 2**31 - 1  # the last client stream id, after ~a billion requests
    assert client.open_stream(Stream())
    assert not client.open_stream(Stream())


def test_only_the_latest_reset_streams_are_remembered() -> None:
    server = handshaken()
    count = DISCARDED_MEMORY + 1
    server.receive_data(
        b"".join(frame(HEADERS, END_HEADERS, 2 * i + 1, block(REQUEST)) for i in range(count))
    )
    for index in range(count):
        server.reset_stream(2 * index + 1, ErrorCode.CANCEL)
    server.data_to_send()
    server.receive_data(frame(DATA, 0, 3, b"x"))  # still remembered: ignored
    assert goaway_code(server, frame(DATA, 0, 1, b"x")) == ErrorCode.STREAM_CLOSED
