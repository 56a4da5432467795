"""Segments at scale: Count latency, the audience read into a send, and event ingestion with the index.

    .venv/bin/python benchmarks/segment_bench.py [--profiles 1000000] [--events 10000000] [--audience-only]

Starts ``herald serve`` in its own process (scratch data folder, embedded PostgreSQL, no sender workers),
imports ``--profiles`` generated profiles with ``herald import`` (benchmarks/profile_files.py: a city of
five, an age, vip on one in ten, an email, an email marketing opt-in), then sends ``--events`` events
through batched TrackEvents (4 clients, 1,000 events a call, no event ids): "purchase" (15 %),
"cart.added" (25 %) and "page.viewed", at random times over the last 90 days. The first tenth is sent
without the events index the segments add, the rest with it: ingestion's events/s and PostgreSQL's CPU
per event, both ways.

Then, through SegmentService: a two-condition segment (city = Paris and at least 2 purchases in 30 days)
and a five-condition one with an exclusion (city Paris or Lyon, age 25 to 49, a purchase in 30 days,
opted in to marketing email, not in the saved "vip" segment). VACUUM ANALYZE runs first, as autovacuum
would after such a load (an index-only scan of events reads the table until the visibility map is set);
the planner's estimate for city = Paris is printed before and after the statistics the segments create.
Count latency: cold, the first call after PostgreSQL was restarted (its buffers empty; the OS page cache
is not dropped: the machine is shared), then warm, the median of 5 calls. Last, a send to each segment
and to a broad selection (two cities of five): CreateSend, which writes the audience into send_audience
(its time, rows/s and WAL per row), then its slices cut and made into messages here, nothing sent: one
slice at a time on one connection, then (a second send to the same selection) WORKER_SLOTS slices at once
on as many connections, as a worker's slots read them. Each gives the audience's profiles/s and the CPU
a profile took in this process (the kernel's part: decoding, judging, message ids) and in PostgreSQL
(the audience statement), which say what the rate would be on more cores than this shared machine's.
Then the same slices read again by the audience statement alone (rows/s), and the same selection
streamed by one COPY statement (rows/s from its first row). ``--audience-only`` imports the profiles and
reads the broad selection's audience only (no events, no segments, no Count): the part that measures the
audience read, in a few minutes instead of most of an hour. The last line printed is the JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import grpc
from google.protobuf import duration_pb2, struct_pb2
from herald_process import Kernel, herald_kernel
from ingest_bench import EVENTS_TAG, TIME_TAG, varint
from profile_files import custom_id, run_cli_import, write_profiles

from herald.v1 import (
    channels_pb2,
    channels_pb2_grpc,
    common_pb2,
    messages_pb2,
    messages_pb2_grpc,
    profiles_pb2,
    segments_pb2,
    segments_pb2_grpc,
)
from kernel.delivery import slices
from kernel.delivery.send_runtime import send_runtime
from kernel.delivery.slice_work import slice_messages
from kernel.engage.segments.compiler import compile_predicate
from kernel.plugins import ChannelManager
from kernel.server import tune_garbage_collector
from kernel.settings import Settings
from kernel.storage.database import create_pool

TRACK = "/herald.v1.ProfileService/TrackEvents"
BATCH = 1000
CLIENTS = 4
#: Event names and their share of the events.
NAMES = ((b"purchase", 0.15), (b"cart.added", 0.25), (b"page.viewed", 0.60))
SPREAD_DAYS = 90
OWNER = "segment-bench"
LEASE = timedelta(minutes=10)
#: A slice's profiles and a worker's slices in flight: the worker_batch_size and worker_concurrency defaults.
SLICE = Settings.model_fields["worker_batch_size"].default
WORKER_SLOTS = Settings.model_fields["worker_concurrency"].default
WARM_RUNS = 5
#: The expression the compiler writes for the city attribute (kernel.engage.segments.compiler).
CITY_IS_PARIS = """EXPLAIN (FORMAT JSON) SELECT count(*) FROM profiles p
                   WHERE p.project_id = $1 AND ((p.attributes -> 'city') -> 'v') = '"Paris"'::jsonb"""


def event_batches(profiles: int, events: int, seed: int) -> list[bytes]:
    """``events`` serialised TrackedEvents of random customers, in TrackEventsRequest bodies of BATCH."""
    rng = random.Random(seed)
    now = int(time.time())
    times = []
    for _ in range(4096):
        stamp = b"\x08" + varint(now - rng.randrange(SPREAD_DAYS * 86400))
        times.append(TIME_TAG + varint(len(stamp)) + stamp)
    names = [b"\x12" + varint(len(name)) + name for name, _ in NAMES]
    weights = [share for _, share in NAMES]
    refs = {}
    batches = []
    for start in range(0, events, BATCH):
        parts = []
        for name in rng.choices(names, weights, k=min(BATCH, events - start)):
            n = rng.randrange(profiles)
            ref = refs.get(n)
            if ref is None:
                cid = custom_id(n).encode()
                inner = b"\x12" + varint(len(cid)) + cid
                ref = refs[n] = b"\x0a" + varint(len(inner)) + inner
            body = ref + name + times[rng.randrange(len(times))]
            parts.append(EVENTS_TAG + varint(len(body)) + body)
        batches.append(b"".join(parts))
    return batches


async def ingest(kernel: Kernel, batches: list[bytes]) -> dict[str, float]:
    """Send the batches from CLIENTS concurrent clients; events/s and CPU per event."""
    queue = list(reversed(batches))
    accepted = 0

    async def client() -> None:
        nonlocal accepted
        async with grpc.aio.insecure_channel(kernel.address) as channel:
            call = channel.unary_unary(
                TRACK, response_deserializer=profiles_pb2.TrackEventsResponse.FromString
            )
            while queue:
                reply = await call(queue.pop(), metadata=kernel.auth)
                accepted += reply.accepted

    before = kernel.cpu_seconds()
    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    seconds = time.monotonic() - started
    after = kernel.cpu_seconds()
    return {
        "events": accepted,
        "events_per_s": round(accepted / seconds),
        "postgres_us_per_event": round((after["postgres"] - before["postgres"]) / accepted * 1e6, 1),
        "kernel_us_per_event": round((after["kernel"] - before["kernel"]) / accepted * 1e6, 1),
    }


def load_events(kernel: Kernel, profiles: int, events: int) -> dict[str, Any]:
    without = events // 10
    print(f"generating {events:,} events ...", flush=True)
    first = event_batches(profiles, without, seed=1)
    rest = event_batches(profiles, events - without, seed=2)
    asyncio.run(_sql(kernel, "DROP INDEX events_name_time"))
    print(f"ingesting {without:,} events without the events index ...", flush=True)
    plain = asyncio.run(ingest(kernel, first))
    asyncio.run(
        _sql(
            kernel,
            "CREATE INDEX events_name_time ON events (project_id, name, occurred_at) INCLUDE (profile_id)",
        )
    )
    print(f"ingesting {events - without:,} events with it ...", flush=True)
    indexed = asyncio.run(ingest(kernel, rest))
    return {"without_index": plain, "with_index": indexed}


async def _sql(kernel: Kernel, statement: str) -> None:
    conn = await asyncpg.connect(kernel.dsn)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def paris_estimate(kernel: Kernel) -> dict[str, int]:
    conn = await asyncpg.connect(kernel.dsn)
    try:
        await conn.execute("ANALYZE profiles")
        # A parallel scan's estimate is per process: the whole table's is wanted.
        await conn.execute("SET max_parallel_workers_per_gather = 0")
        project_id = await conn.fetchval("SELECT project_id FROM projects")
        plan = json.loads(await conn.fetchval(CITY_IS_PARIS, project_id))
        actual = await conn.fetchval(
            "SELECT count(*) FROM profiles WHERE project_id = $1 AND attributes -> 'city' ->> 'v' = 'Paris'",
            project_id,
        )
    finally:
        await conn.close()
    node = plan[0]["Plan"]
    while "Plans" in node and node.get("Node Type") in (
        "Aggregate",
        "Gather",
        "Finalize Aggregate",
        "Partial Aggregate",
    ):
        node = node["Plans"][0]
    return {"estimated": int(node["Plan Rows"]), "actual": actual}


def _attribute(key: str, **test: Any) -> segments_pb2.Condition:
    return segments_pb2.Condition(attribute=segments_pb2.AttributeCondition(key=key, **test))


def _string(text: str) -> common_pb2.AttributeValue:
    return common_pb2.AttributeValue(string_value=text)


def _all(*conditions: segments_pb2.Condition) -> segments_pb2.Condition:
    return segments_pb2.Condition(all=segments_pb2.ConditionList(conditions=conditions))


def _purchases(at_least: int) -> segments_pb2.Condition:
    month = duration_pb2.Duration(seconds=30 * 86400)
    return segments_pb2.Condition(
        event=segments_pb2.EventCondition(name="purchase", at_least=at_least, within_last=month)
    )


#: A selection of two cities in five (400,000 profiles of 1,000,000): the audience written at volume.
BROAD_CONDITION = _attribute("city", in_strings=common_pb2.StringList(values=["Paris", "Lyon"]))


async def create_segments(stub: segments_pb2_grpc.SegmentServiceStub, kernel: Kernel) -> dict[str, str]:
    async def create(name: str, condition: segments_pb2.Condition) -> str:
        reply = await stub.CreateSegment(
            segments_pb2.CreateSegmentRequest(segment=segments_pb2.Segment(name=name, condition=condition)),
            metadata=kernel.auth,
        )
        return reply.segment_id

    vip = await create("vip", _attribute("vip", equals=common_pb2.AttributeValue(bool_value=True)))
    two = await create("two", _all(_attribute("city", equals=_string("Paris")), _purchases(2)))
    five = await create(
        "five",
        _all(
            _attribute("city", in_strings=common_pb2.StringList(values=["Paris", "Lyon"])),
            _attribute(
                "age",
                range=segments_pb2.Range(
                    gte=segments_pb2.RangeBound(number=25), lt=segments_pb2.RangeBound(number=50)
                ),
            ),
            _purchases(1),
            segments_pb2.Condition(
                subscribed=segments_pb2.SubscribedCondition(
                    channel="email", purpose=common_pb2.PURPOSE_MARKETING
                )
            ),
            segments_pb2.Condition(
                **{"not": segments_pb2.Condition(segment=segments_pb2.SegmentReference(segment_id=vip))}
            ),
        ),
    )
    return {"two": two, "five": five}


async def count(
    stub: segments_pb2_grpc.SegmentServiceStub, kernel: Kernel, segment_id: str
) -> tuple[int, float]:
    started = time.perf_counter()
    reply = await stub.CountSegment(
        segments_pb2.CountSegmentRequest(target=segments_pb2.SegmentTarget(segment_id=segment_id)),
        metadata=kernel.auth,
    )
    return reply.count, time.perf_counter() - started


def restart_postgres(kernel: Kernel) -> None:
    """Stop the embedded PostgreSQL; the kernel supervising it starts it again (shared buffers empty)."""
    import pgserver

    user = "pgserver" if os.geteuid() == 0 else None
    pgserver.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=kernel.data_dir / "postgres", user=user)


async def cold_count(
    stub: segments_pb2_grpc.SegmentServiceStub, kernel: Kernel, segment_id: str
) -> tuple[int, float]:
    """The first Count that succeeds after the restart (calls refused while it restarts are not timed)."""
    deadline = time.monotonic() + 120
    while True:
        try:
            return await count(stub, kernel, segment_id)
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def counts(kernel: Kernel, segment_ids: dict[str, str]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    async with grpc.aio.insecure_channel(kernel.address) as channel:
        stub = segments_pb2_grpc.SegmentServiceStub(channel)
        for name, segment_id in segment_ids.items():
            restart_postgres(kernel)
            matched, cold = await cold_count(stub, kernel, segment_id)
            warm = [(await count(stub, kernel, segment_id))[1] for _ in range(WARM_RUNS)]
            figures[name] = {
                "profiles": matched,
                "count_cold_s": round(cold, 3),
                "count_warm_s": round(statistics.median(warm), 3),
                "count_warm_max_s": round(max(warm), 3),
            }
            print(
                f"{name}-condition segment: {matched:,} profiles; Count cold {cold:.3f} s, "
                f"warm median {statistics.median(warm):.3f} s (max {max(warm):.3f})",
                flush=True,
            )
    return figures


async def configure(kernel: Kernel) -> None:
    config = struct_pb2.Struct()
    config.update({"api_key": "bench-key", "from_address": "news@herald.example"})
    async with grpc.aio.insecure_channel(kernel.address) as channel:
        await channels_pb2_grpc.ChannelServiceStub(channel).SetChannelConfig(
            channels_pb2.SetChannelConfigRequest(channel="email.sparkpost", config=config),
            metadata=kernel.auth,
        )


async def create_send(kernel: Kernel, selection: segments_pb2.SegmentSelection) -> dict[str, Any]:
    """CreateSend to the selection, which writes its audience into send_audience: the call's time, the
    rows written per second of it and the WAL it wrote (nothing else writes: no sender workers)."""
    conn = await asyncpg.connect(kernel.dsn)
    try:
        wal_before = await conn.fetchval("SELECT pg_current_wal_lsn()")
        started = time.perf_counter()
        async with grpc.aio.insecure_channel(kernel.address) as channel:
            send = await messages_pb2_grpc.MessageServiceStub(channel).CreateSend(
                messages_pb2.CreateSendRequest(
                    name="segment bench",
                    segments=selection,
                    channels=["email.sparkpost"],
                    templates={
                        "email.sparkpost": messages_pb2.MessageTemplate(
                            subject="Hi", text="Hi {{ first_name }}"
                        )
                    },
                    purpose=common_pb2.PURPOSE_MARKETING,
                    unpaced=True,
                ),
                metadata=kernel.auth,
            )
        seconds = time.perf_counter() - started
        wal = await conn.fetchval("SELECT pg_current_wal_lsn() - $1::pg_lsn", wal_before)
        rows = await conn.fetchval(
            "SELECT count(*) FROM send_audience WHERE send_id = $1", uuid.UUID(send.send_id)
        )
    finally:
        await conn.close()
    return {
        "send_id": send.send_id,
        "create_send_s": round(seconds, 3),
        "audience_rows": rows,
        "audience_rows_per_s": round(rows / seconds),
        "wal_bytes_per_row": round(int(wal) / rows) if rows else None,
    }


async def stream_audience(kernel: Kernel, selection: segments_pb2.SegmentSelection) -> dict[str, Any]:
    """A send to the selection, its slices cut and read one at a time: profiles/s of its audience; then a
    second send to it read as a worker reads (WORKER_SLOTS slices at once); then the statements alone."""
    created = await create_send(kernel, selection)
    pool = await create_pool(kernel.dsn, min_size=1, max_size=WORKER_SLOTS)
    try:
        runtime = await _runtime(pool, created.pop("send_id"))
        serial = await read_slices(kernel, pool, runtime, 1)
        worker = await read_slices(
            kernel,
            pool,
            await _runtime(pool, (await create_send(kernel, selection))["send_id"]),
            WORKER_SLOTS,
        )
        async with pool.acquire() as conn:
            scanned = await scan_rate(conn, runtime)
            streamed = await copy_stream(conn, runtime.project_id, runtime.definition.audience)
    finally:
        await pool.close()
    return {
        **created,
        "profiles": serial["profiles"],
        "seconds": serial["seconds"],
        "profiles_per_s": serial["profiles_per_s"],
        "cpu_us_per_profile": serial["cpu_us_per_profile"],
        "worker_profiles_per_s": worker["profiles_per_s"],
        "worker_cpu_us_per_profile": worker["cpu_us_per_profile"],
        "scan_rows_per_s": scanned,
        **streamed,
    }


async def _runtime(pool: asyncpg.Pool, send_id: str) -> Any:
    row = await pool.fetchrow(
        "SELECT project_id, send_id, spec, audience, false AS paced FROM sends WHERE send_id = $1",
        uuid.UUID(send_id),
    )
    runtime = send_runtime(row, ChannelManager())
    assert runtime is not None
    return runtime


async def read_slices(kernel: Kernel, pool: asyncpg.Pool, runtime: Any, readers: int) -> dict[str, Any]:
    """The send's slices cut one after another (each cut its own transaction) and made into messages by
    ``readers`` at once, each on its own connection, as a worker's slots do (nothing sent): profiles/s,
    and the CPU each profile took in this process (the kernel's part) and in PostgreSQL."""
    profiles: set[Any] = set()

    async def reader() -> None:
        async with pool.acquire() as conn:
            while True:
                async with conn.transaction():
                    part = await slices.cut(conn, runtime.project_id, runtime.send_id, OWNER, LEASE, SLICE)
                if part is None:
                    return
                found = await slice_messages(conn, runtime, part)
                profiles.update(message.profile_id for message in found.pending)

    postgres = kernel.cpu_seconds()["postgres"]
    process = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(reader() for _ in range(readers)))
    seconds = time.perf_counter() - started
    process = time.process_time() - process
    postgres = kernel.cpu_seconds()["postgres"] - postgres
    count = max(len(profiles), 1)
    return {
        "profiles": len(profiles),
        "seconds": round(seconds, 2),
        "profiles_per_s": round(len(profiles) / seconds),
        "cpu_us_per_profile": {
            "kernel": round(process / count * 1e6, 2),
            "postgres": round(postgres / count * 1e6, 2),
        },
    }


async def scan_rate(conn: asyncpg.Connection, runtime: Any) -> int:
    """The send's slices read again by the audience statement alone, without making messages of its rows
    (the kernel's share of a slice's time apart): its rows per second."""
    parts = await conn.fetch(
        "SELECT slice_no, lo, hi FROM send_slices WHERE project_id = $1 AND send_id = $2 ORDER BY slice_no",
        runtime.project_id,
        runtime.send_id,
    )
    rows = 0
    started = time.perf_counter()
    for part in parts:
        where = slices.Slice(
            runtime.project_id, runtime.send_id, part["slice_no"], part["lo"], part["hi"], False, 1
        )
        rows += len(await runtime.scan.read(conn, where))
    return round(rows / (time.perf_counter() - started))


async def copy_stream(conn: asyncpg.Connection, project_id: Any, audience: Any) -> dict[str, float | None]:
    """The frozen selection's profiles in one statement, streamed with COPY: its rows/s from the first
    row to the last (the query's own time to its first row apart)."""
    predicate = compile_predicate(audience.condition, audience.evaluated_at)
    marks: list[float] = []
    rows = 0

    async def sink(chunk: bytes) -> None:
        nonlocal rows
        marks.append(time.perf_counter())
        rows += chunk.count(b"\n")

    started = time.perf_counter()
    await conn.copy_from_query(
        f"SELECT p.profile_id FROM profiles p WHERE p.project_id = $1 AND {predicate.sql}",
        project_id,
        *predicate.args,
        output=sink,
    )
    ended = time.perf_counter()
    streaming = ended - marks[0] if marks else 0.0
    return {
        "copy_first_row_s": round(marks[0] - started, 3) if marks else None,
        "copy_rows": rows,
        "copy_rows_per_s": round(rows / streaming) if streaming > 0 else None,
    }


def run(profiles: int, events: int, audience_only: bool) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="herald-segment-bench-"))
    try:
        with herald_kernel(worker_count="0", metrics_address="127.0.0.1:0") as kernel:
            path = folder / "profiles.jsonl"
            print(f"importing {profiles:,} profiles ...", flush=True)
            write_profiles(path, profiles)
            imported = run_cli_import(path, kernel.address, kernel.api_key)
            path.unlink()
            print(imported.summary.splitlines()[0], flush=True)
            ingestion: dict[str, Any] = {}
            if not audience_only:
                ingestion = load_events(kernel, profiles, events)
                for label, figures in ingestion.items():
                    print(f"ingestion {label}: {figures}", flush=True)
            asyncio.run(_sql(kernel, "VACUUM ANALYZE"))
            segment_ids: dict[str, str] = {}
            before = after = None
            if not audience_only:
                before = asyncio.run(paris_estimate(kernel))
                segment_ids = asyncio.run(_segments(kernel))
                after = asyncio.run(paris_estimate(kernel))
                print(
                    f"planner's rows for city = Paris: {before} without statistics, {after} with", flush=True
                )
            count_figures = asyncio.run(counts(kernel, segment_ids))
            asyncio.run(configure(kernel))
            selections = {
                name: segments_pb2.SegmentSelection(include_segment_ids=[segment_id])
                for name, segment_id in segment_ids.items()
            }
            selections["broad"] = segments_pb2.SegmentSelection(condition=BROAD_CONDITION)
            # The slices are made into messages in this process as a worker does, so with the collector
            # tuned as the kernel's processes tune it: at CPython's default thresholds its collections of
            # the slices' rows were counted as the worker's CPU.
            tune_garbage_collector()
            streams = {
                name: asyncio.run(stream_audience(kernel, chosen)) for name, chosen in selections.items()
            }
            for name, figures in streams.items():
                print(f"audience of the {name} selection read into a send: {figures}", flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "benchmark": "segment",
        "profiles": profiles,
        "events": events,
        "load_average": os.getloadavg()[0],
        "ingestion": ingestion,
        "paris_estimate": {"without_statistics": before, "with_statistics": after},
        "counts": count_figures,
        "audience": streams,
    }


async def _segments(kernel: Kernel) -> dict[str, str]:
    async with grpc.aio.insecure_channel(kernel.address) as channel:
        return await create_segments(segments_pb2_grpc.SegmentServiceStub(channel), kernel)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=None, help="default: 10 per profile")
    parser.add_argument(
        "--audience-only",
        action="store_true",
        help="import the profiles and read the broad selection's audience only (no events, segments, Count)",
    )
    args = parser.parse_args()
    events = 0 if args.audience_only else args.events if args.events is not None else args.profiles * 10
    print(f"load average at start: {os.getloadavg()}", flush=True)
    summary = run(args.profiles, events, args.audience_only)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
