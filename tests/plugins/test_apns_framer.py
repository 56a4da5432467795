"""A push's frames built in one piece (``plugins.apns.framer``): the compiled framer (``_framer.pyx``)
writes the same bytes as its pure-Python twin (``_framer_py.py``), hyperframe reads them, and a
connection sending pushes that way (``send_push``) writes exactly what the general path (``send_headers``
and ``send_data``) writes, which h2 receives whole.

The compiled framer is skipped when ``HERALD_NO_EXTENSIONS`` is set (``make test`` runs the APNs tests a
second time that way, so ``send_push`` is also tested on the twin); otherwise a framer that cannot be
imported fails, as the sender core's does."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.settings
import hpack
from hyperframe.frame import DataFrame, Frame, HeadersFrame
from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.apns import _framer_py, framer
from plugins.apns.h2hpack import Header, Run
from plugins.apns.h2wire import Stream
from tests.compiled_modules import compiled_module
from tests.plugins.test_apns_h2 import Endpoint


def compiled_framer() -> ModuleType:
    """The compiled framer (:func:`tests.compiled_modules.compiled_module`)."""
    return compiled_module("plugins.apns._framer")


def test_the_compiled_framer_is_the_one_in_use() -> None:
    compiled_framer()
    assert framer.IMPLEMENTATION == "cython"


# -- a push's two frames in one piece -------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 2**31 - 1),
    st.binary(max_size=300),
    st.binary(max_size=300),
    st.binary(max_size=300),
    st.none() | st.binary(max_size=300),
    st.binary(max_size=3000),
    st.integers(0, 2000),
)
def test_the_framers_write_the_same_frames_which_hyperframe_and_hpack_read(
    stream_id: int,
    before_path: bytes,
    path: bytes,
    before_id: bytes,
    apns_id: bytes | None,
    body: bytes,
    max_frame: int,
) -> None:
    built = compiled_framer()
    arguments = (stream_id, before_path, path, before_id, apns_id, body, max_frame)
    twin = _framer_py.request_frames(*arguments)
    assert built.request_frames(*arguments) == twin
    for value in (path, before_path, body):
        assert built.string_literal(value) == _framer_py.string_literal(value)
    literals = [
        _framer_py.string_literal(path),
        *([_framer_py.string_literal(apns_id)] if apns_id is not None else []),
    ]
    size = len(before_path) + len(before_id) + sum(map(len, literals))
    if size > max_frame:
        assert twin is None
        return
    assert twin is not None
    headers, data = frames(twin)
    assert isinstance(headers, HeadersFrame) and isinstance(data, DataFrame)
    assert (headers.stream_id, headers.flags, data.stream_id, data.flags) == (
        stream_id,
        {"END_HEADERS"},
        stream_id,
        {"END_STREAM"},
    )
    assert data.data == body
    # The literals decode as hpack reads them: a literal field without indexing around each value.
    block = b"\x00\x01a" + headers.data[len(before_path) :]  # name "a", then the path's value
    if apns_id is None and not before_id:
        assert hpack.Decoder().decode(block, raw=True) == [(b"a", path)]


def frames(data: bytes) -> list[Any]:
    """Frames parsed by hyperframe (h2's own parser)."""
    parsed = []
    while data:
        frame, length = Frame.parse_frame_header(memoryview(data[:9]))
        frame.parse_body(memoryview(data[9 : 9 + length]))
        parsed.append(frame)
        data = data[9 + length :]
    return parsed


# -- HTTP/2 ---------------------------------------------------------------------------------------


def push_client() -> Endpoint:
    """A client connection that sends ``:path`` and ``apns-id`` unindexed, as the sender's does."""
    return Endpoint(client=True, unindexed=(b":path", b"apns-id"), enable_push=0)


HEAD: Run = ((b":method", b"POST"), (b":scheme", b"https"), (b":authority", b"api.push.apple.com"))
SHARED: Run = (
    (b"authorization", b"bearer t"),
    (b"apns-push-type", b"alert"),
    (b"apns-topic", b"com.example"),
)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.binary(min_size=1, max_size=64),
            st.none() | st.uuids().map(lambda value: str(value).encode()),
            st.binary(max_size=70_000),
        ),
        min_size=1,
        max_size=8,
    ),
    st.integers(1, 100_000),  # h2 reopens a window as it is used, never one it announced closed
    st.sampled_from([16_384, 20_000]),
)
def test_pushes_are_framed_alike_and_h2_reads_them(
    requests: list[tuple[bytes, bytes | None, bytes]], initial_window: int, max_frame: int
) -> None:
    """Pushes as the sender starts them (``send_push``), the peer's windows and frame size chosen at
    random: the same bytes as the general path (``send_headers`` and ``send_data``), DATA held back for
    WINDOW_UPDATE alike, and h2 receives every request whole; the answers are read alike."""
    peer = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding=None))
    peer.local_settings = h2.settings.Settings(
        client=False,
        initial_values={
            h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: initial_window,
            h2.settings.SettingCodes.MAX_FRAME_SIZE: max_frame,
        },
    )
    peer.initiate_connection()
    clients = [(push_client(), push) for push in (True, False)]
    server_preface = peer.data_to_send()
    sent: list[bytes] = []
    for client, push in clients:
        client.initiate()
        client.receive_data(server_preface)
        for token, apns_id, body in requests:
            stream = Stream()
            assert client.open_stream(stream)
            path = b"/3/device/" + token.hex().encode()
            if push:
                client.send_push(stream, HEAD, path, SHARED, apns_id, body)
                continue
            id_field = [(b"apns-id", apns_id)] if apns_id is not None else []
            client.send_headers(stream, [HEAD, (b":path", path), SHARED, *id_field], not body)
            if body:
                client.send_data(stream, body)
        sent.append(client.data_to_send())
    assert sent == [sent[0]] * len(clients)
    received: dict[int, bytes] = {}
    requested: dict[int, list[Header]] = {}
    ended: set[int] = set()
    data = sent[0]
    for _ in range(200):  # until every body went through the windows
        replies: list[bytes] = []
        for event in peer.receive_data(data):
            if isinstance(event, h2.events.RequestReceived):
                requested[event.stream_id] = event.headers
            elif isinstance(event, h2.events.DataReceived):
                received[event.stream_id] = received.get(event.stream_id, b"") + event.data
                peer.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                ended.add(event.stream_id)
        window_updates = peer.data_to_send()
        for client, _ in clients:
            client.receive_data(window_updates)
            replies.append(client.data_to_send())
        assert replies == [replies[0]] * len(clients)
        if not replies[0]:
            break
        data = replies[0]
    assert len(ended) == len(requests)
    for stream_id, (token, apns_id, body) in zip(sorted(requested), requests, strict=True):
        id_field = [(b"apns-id", apns_id)] if apns_id is not None else []
        assert requested[stream_id] == [
            *HEAD,
            (b":path", b"/3/device/" + token.hex().encode()),
            *SHARED,
            *id_field,
        ]
        assert received.get(stream_id, b"") == body
    for stream_id in sorted(requested):
        peer.send_headers(
            stream_id, [(b":status", b"200"), (b"apns-id", b"%d" % stream_id)], end_stream=False
        )
        peer.send_data(stream_id, b'{"reason":"x"}', end_stream=True)
    answers = peer.data_to_send()
    for client, _ in clients:
        client.events.clear()
        client.receive_data(answers)
    assert clients[0][0].events == clients[1][0].events
    assert [event[0] for event in clients[0][0].events] == ["headers", "data"] * len(requests)
