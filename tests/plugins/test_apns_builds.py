"""The APNs framing core's two builds agree: the pure-Python source (``_hpack_codec``, ``_h2_state``)
and its Cython build (``_hpack_codec_c``, ``_h2_state_c``) produce the same bytes and report the same
frames, and what they produce decodes with the ``hpack`` and ``h2`` libraries.

The compiled build is skipped when ``HERALD_NO_EXTENSIONS`` is set (``make test`` runs the APNs tests a
second time that way); otherwise a build that cannot be imported fails, as the sender core's does."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.settings
import hpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.apns import _h2_state, _hpack_codec, h2hpack, h2wire
from plugins.apns.h2base import Header, Run, Setting
from sender_ext.core import NO_EXTENSIONS


def compiled(name: str) -> ModuleType:
    """The compiled build of ``plugins.apns.<name>``; a skip under HERALD_NO_EXTENSIONS, else a failure
    when it is not built."""
    if NO_EXTENSIONS:
        pytest.skip("HERALD_NO_EXTENSIONS is set: testing the pure-Python source only")
    try:
        return importlib.import_module(f"plugins.apns.{name}_c")
    except ImportError as exc:
        pytest.fail(
            f"plugins.apns.{name}_c cannot be imported ({exc}): build it with `.venv/bin/pip install -e .`"
        )


def test_the_compiled_builds_are_the_ones_in_use() -> None:
    compiled("_hpack_codec")
    compiled("_h2_state")
    assert (h2hpack.IMPLEMENTATION, h2wire.IMPLEMENTATION) == ("cython", "cython")


# -- HPACK ----------------------------------------------------------------------------------------

NAMES = st.sampled_from([b":path", b"apns-id", b"authorization", b"apns-topic", b":method"]) | st.binary(
    min_size=1, max_size=8
)
FIELDS = st.tuples(NAMES, st.binary(max_size=200) | st.sampled_from([b"POST", b"10", b"alert"]))
# A step is a header list (some of its fields grouped into runs), or the peer's new table size.
STEPS = st.lists(
    st.lists(st.lists(FIELDS, min_size=1, max_size=3), max_size=5) | st.integers(0, 8192),
    min_size=1,
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(STEPS)
def test_the_encoders_write_the_same_bytes_which_hpack_decodes(steps: list[list[list[Header]] | int]) -> None:
    builds = [
        _hpack_codec.Encoder([b":path", b"apns-id"]),
        compiled("_hpack_codec").Encoder([b":path", b"apns-id"]),
    ]
    reference = hpack.Decoder()
    runs: dict[tuple[Header, ...], Run] = {}  # the same run objects again, as a sender gives them
    for step in steps:
        if isinstance(step, int):
            for encoder in builds:
                encoder.set_table_limit(step)
            reference.max_allowed_table_size = max(reference.max_allowed_table_size, step)
            continue
        items: list[Header | Run] = []
        for group in step:
            if len(group) == 1:
                items.append(group[0])
            else:
                items.append(runs.setdefault(tuple(group), tuple(group)))
        twin, built = (encoder.encode(items) for encoder in builds)
        assert built == twin
        assert reference.decode(twin, raw=True) == [field for group in step for field in group]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(FIELDS, max_size=6), min_size=1, max_size=8), st.booleans())
def test_the_decoders_read_hpacks_blocks_alike(lists: list[list[Header]], huffman: bool) -> None:
    encoder = hpack.Encoder()
    builds = [_hpack_codec.Decoder(), compiled("_hpack_codec").Decoder()]
    for headers in lists:
        block = encoder.encode(headers, huffman=huffman)
        twin, built = (decoder.decode(block) for decoder in builds)
        assert built == twin == headers


# -- HTTP/2 ---------------------------------------------------------------------------------------


def recording(module: ModuleType) -> type:
    """A client connection of ``module``'s build whose hooks record what they are told."""

    class Client(module.H2Connection):  # type: ignore[name-defined,misc]
        def __init__(self) -> None:
            super().__init__(client=True, settings={Setting.ENABLE_PUSH: 0}, unindexed=[b":path", b"apns-id"])
            self.events: list[tuple[Any, ...]] = []

        def _on_headers(self, stream_id: int, stream: Any, headers: list[Header], end_stream: bool) -> None:
            self.events.append(("headers", stream_id, headers, end_stream))

        def _on_data(self, stream: Any, data: bytes, end_stream: bool) -> None:
            self.events.append(("data", stream.id, data, end_stream))

        def _on_reset(self, stream: Any, code: int) -> None:
            self.events.append(("reset", stream.id, code))

        def _on_goaway(self, last_stream_id: int, code: int, debug: bytes) -> None:
            self.events.append(("goaway", last_stream_id, code, debug))

        def _on_settings(self) -> None:
            self.events.append(("settings",))

    return Client


HEAD: Run = ((b":method", b"POST"), (b":scheme", b"https"), (b":authority", b"api.push.apple.com"))
SHARED: Run = (
    (b"authorization", b"bearer t"),
    (b"apns-push-type", b"alert"),
    (b"apns-topic", b"com.example"),
)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.binary(min_size=1, max_size=64), st.binary(max_size=70_000)), min_size=1, max_size=8
    ),
    st.integers(1, 100_000),  # h2 reopens a window as it is used, never one it announced closed
    st.sampled_from([16_384, 20_000]),
)
def test_requests_are_framed_alike_and_h2_reads_them(
    requests: list[tuple[bytes, bytes]], initial_window: int, max_frame: int
) -> None:
    """Pushes as the sender starts them, the peer's windows and frame size chosen at random: both builds
    write the same bytes (DATA held back for WINDOW_UPDATE alike), and h2 receives every request whole;
    then both read h2's answers into the same events."""
    peer = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding=None))
    peer.local_settings = h2.settings.Settings(
        client=False,
        initial_values={
            h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: initial_window,
            h2.settings.SettingCodes.MAX_FRAME_SIZE: max_frame,
        },
    )
    peer.initiate_connection()
    builds = [_h2_state, compiled("_h2_state")]
    clients = [recording(build)() for build in builds]
    server_preface = peer.data_to_send()
    sent: list[bytes] = []
    for build, client in zip(builds, clients, strict=True):
        client.initiate()
        client.receive_data(server_preface)
        for token, body in requests:
            stream = build.Stream()
            assert client.open_stream(stream)
            client.send_headers(
                stream, (HEAD, (b":path", b"/3/device/" + token.hex().encode()), SHARED), not body
            )
            if body:
                client.send_data(stream, body)
        sent.append(client.data_to_send())
    assert sent[1] == sent[0]
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
        for client in clients:
            client.receive_data(window_updates)
            replies.append(client.data_to_send())
        assert replies[1] == replies[0]
        if not replies[0]:
            break
        data = replies[0]
    assert len(ended) == len(requests)
    for stream_id, (token, body) in zip(sorted(requested), requests, strict=True):
        assert requested[stream_id] == [*HEAD, (b":path", b"/3/device/" + token.hex().encode()), *SHARED]
        assert received.get(stream_id, b"") == body
    for stream_id in sorted(requested):
        peer.send_headers(
            stream_id, [(b":status", b"200"), (b"apns-id", b"%d" % stream_id)], end_stream=False
        )
        peer.send_data(stream_id, b'{"reason":"x"}', end_stream=True)
    answers = peer.data_to_send()
    for client in clients:
        client.events.clear()
        client.receive_data(answers)
    assert clients[1].events == clients[0].events
    assert [event[0] for event in clients[0].events] == ["headers", "data"] * len(requests)
