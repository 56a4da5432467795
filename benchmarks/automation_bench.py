"""Automations under load: tracked events enter profiles into three active automations, whose first
emails reach the SparkPost emulator.

    .venv/bin/python benchmarks/automation_bench.py [--profiles 100000] [--rate 5000] [--seconds 60]
        [--batch 50] [--width 16] [--claim 50] [--pressure] [--statements]

Starts ``herald serve`` in its own process (scratch data folder, embedded PostgreSQL) and the SparkPost
emulator in another, seeds ``--profiles`` profiles with an email each (in SQL), and activates three
automations: "cart_abandoned" sends at once; "product_viewed" sends at once, waits a minute, sends
again; "signed_up" waits 30 seconds, then sends. Events of the three kinds, for profiles drawn at random,
are offered through TrackEvents at ``--rate`` per second for ``--seconds``, in requests of ``--batch``
events each, open-loop: each request leaves on its schedule whether or not the earlier ones were answered.
``--width``: the kernel's scheduler_width; ``--claim``: its scheduler_claim_size (the most events a batch
walks in one transaction). ``--pressure``: the project has a frequency cap (never reached),
so that every send step is judged by the pressure rules (their cost is the difference). ``--statements``:
PostgreSQL logs every statement while the events are offered and taken, and the statements and commits
per event taken (ingestion included) are printed (logging slows the run: its latencies are not the
figures).

Prints the events acknowledged per second; the trigger-to-send latency p50 / p99 of the messages sent at
once (from the TrackEvents answer that acknowledged the event to the emulator's acceptance of its email:
the event's ``seq`` property is printed in the subject, and the emulator notes when it accepted each one);
where that time went, per stage, from the scheduler's rows (ingest: from the start of the event's
transaction to its acknowledgement; queued: from then to the job's claim; slot: the claim to the start of
the handler's transaction (a free slot of the scheduler's width); walk_and_send: from then to the
acceptance: the walk's statements, its commit, the first attempt); the events the automations took per
second, and the CPU per event taken; then the timer
backlog's draining rate (every wait's timer made due at once, run to the last). The load average is
printed before and after (the machine is shared). The last line is the JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import time
from collections import Counter
from typing import Any

import aiohttp
import asyncpg
import grpc
from aiohttp import web
from campaign_bench import configure, emulator_process, seed, serve_emulator
from google.protobuf import duration_pb2
from herald_process import Kernel, cpu_report, herald_kernel

from herald.v1 import automations_pb2 as pb
from herald.v1 import (
    automations_pb2_grpc,
    common_pb2,
    messages_pb2,
    pressure_pb2,
    pressure_pb2_grpc,
    profiles_pb2,
    profiles_pb2_grpc,
    templates_pb2,
    templates_pb2_grpc,
)
from kernel.scheduler.loop import LEASE_SECONDS
from plugins.sparkpost.emulator import SparkPostEmulator, render

API_KEY = "bench-sparkpost-key"
EMAIL = "email.sparkpost"
#: Event name -> the automation's steps as (kind, subject or seconds).
FLOWS = {
    "cart_abandoned": [("send", "A")],
    "product_viewed": [("send", "B1"), ("wait", 60), ("send", "B2")],
    "signed_up": [("wait", 30), ("send", "C")],
}
#: The subjects sent as the event is taken: the latency is theirs.
AT_ONCE = ("A", "B1")
SUBJECT = re.compile(r"^(\w+) (\d+)(?:\.0)?$")


class TimingSparkPost(SparkPostEmulator):
    """SparkPost's checks and answers; besides, when each subject was accepted (the emulator's clock)."""

    def __init__(self, port: int) -> None:
        super().__init__(API_KEY, port=port)
        self.times: list[tuple[str, float]] = []
        self.accepted = _Dropped()  # type: ignore[assignment]

    def routes(self) -> list[web.RouteDef]:
        return [*super().routes(), web.get("/times", self._times)]

    def _record(self, transmission: str, body: Any, recipient: Any) -> dict[str, Any]:  # type: ignore[override]
        # The subject as SparkPost prints it: with the recipient's substitution data, if any.
        data = {**body.get("substitution_data", {}), **recipient.get("substitution_data", {})}
        self.times.append((render(body["content"]["subject"], data, escape=False), time.time()))
        return {}

    async def _times(self, request: web.Request) -> web.Response:
        return web.json_response(self.times)


class _Dropped:
    """Stands in for the accepted list: the acceptance times are kept by ``_record``."""

    def append(self, record: Any) -> None:
        pass


async def accepted(endpoint: str) -> dict[str, dict[int, float]]:
    """Per subject prefix, when the email of each event ``seq`` was accepted."""
    async with aiohttp.ClientSession() as session, session.get(f"{endpoint}/times") as response:
        times = await response.json()
    found: dict[str, dict[int, float]] = {}
    for subject, at in times:
        match = SUBJECT.match(subject)
        if match:
            found.setdefault(match[1], {})[int(match[2])] = at
    return found


async def automations(kernel: Kernel) -> None:
    """The three automations of FLOWS, active, with a template per send step."""
    async with grpc.aio.insecure_channel(kernel.address) as channel:
        templates = templates_pb2_grpc.TemplateServiceStub(channel)
        stub = automations_pb2_grpc.AutomationServiceStub(channel)
        for event, flow in FLOWS.items():
            steps = []
            for index, (kind, value) in enumerate(flow):
                next_step = f"s{index + 1}" if index + 1 < len(flow) else "end"
                if kind == "wait":
                    span = duration_pb2.Duration(seconds=int(value))
                    steps.append(
                        pb.Step(step_id=f"s{index}", next=next_step, wait=pb.WaitStep(duration=span))
                    )
                    continue
                message = messages_pb2.MessageTemplate(
                    subject=f"{value} {{{{ event.seq }}}}", html="<p>Hello {{ first_name }}</p>"
                )
                saved = await templates.CreateTemplate(
                    templates_pb2.CreateTemplateRequest(
                        template=templates_pb2.Template(
                            name=str(value), languages={"en": message}, fallback_language="en"
                        )
                    ),
                    metadata=kernel.auth,
                )
                ref = messages_pb2.TemplateRef(template_id=saved.template_id)
                steps.append(
                    pb.Step(
                        step_id=f"s{index}", next=next_step, send=pb.SendStep(channel=EMAIL, template=ref)
                    )
                )
            steps.append(pb.Step(step_id="end", end=pb.EndStep()))
            made = await stub.CreateAutomation(
                pb.CreateAutomationRequest(
                    automation=pb.Automation(
                        name=event,
                        trigger=pb.AutomationTrigger(event=pb.EventTrigger(name=event)),
                        steps=steps,
                        reentry=pb.REENTRY_POLICY_ALWAYS,
                    )
                ),
                metadata=kernel.auth,
            )
            await stub.ActivateAutomation(
                pb.ActivateAutomationRequest(automation_id=made.automation_id), metadata=kernel.auth
            )


async def cap_marketing(kernel: Kernel) -> None:
    """A cap no profile reaches here: every send step is judged, none is held."""
    cap = pressure_pb2.FrequencyCap(max_messages=1000, period=pressure_pb2.CAP_PERIOD_DAY)
    async with grpc.aio.insecure_channel(kernel.address) as channel:
        await pressure_pb2_grpc.PressureServiceStub(channel).UpdatePressureRules(
            pressure_pb2.UpdatePressureRulesRequest(rules=pressure_pb2.PressureRules(caps=[cap])),
            metadata=kernel.auth,
        )


async def profile_ids(dsn: str) -> list[str]:
    """The seeded profiles, named by id in the events (the seed writes no identity rows for custom ids)."""
    conn = await asyncpg.connect(dsn)
    try:
        return [str(row[0]) for row in await conn.fetch("SELECT profile_id FROM profiles")]
    finally:
        await conn.close()


async def offer(kernel: Kernel, profiles: list[str], rate: int, seconds: float, batch: int) -> dict[str, Any]:
    """Events on schedule (open-loop); when each ``seq`` was acknowledged, and the achieved rate."""
    names = list(FLOWS)
    acked: dict[int, float] = {}
    failed = 0
    late = 0.0
    requests = int(rate * seconds / batch)
    async with grpc.aio.insecure_channel(kernel.address) as channel:
        stub = profiles_pb2_grpc.ProfileServiceStub(channel)

        async def one(first: int) -> None:
            nonlocal failed
            seqs = range(first, first + batch)
            request = profiles_pb2.TrackEventsRequest(
                events=[
                    profiles_pb2.TrackedEvent(
                        profile=common_pb2.ProfileRef(profile_id=random.choice(profiles)),
                        name=names[seq % len(names)],
                        attributes={"seq": common_pb2.AttributeValue(number_value=seq)},
                    )
                    for seq in seqs
                ]
            )
            try:
                await stub.TrackEvents(request, metadata=kernel.auth)
            except grpc.aio.AioRpcError as error:
                if not failed:
                    print(f"TrackEvents failed: {error.code()} {error.details()}", flush=True)
                failed += batch
                return
            now = time.time()
            for seq in seqs:
                acked[seq] = now

        began = time.perf_counter()
        pending: set[asyncio.Task[None]] = set()
        for number in range(requests):
            due = began + number * batch / rate
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            else:
                late = max(late, -wait)
            task = asyncio.create_task(one(number * batch))
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.gather(*pending)
        elapsed = time.perf_counter() - began
    return {
        "acked": acked,
        "offered": requests * batch,
        "failed": failed,
        "events_per_second": round(len(acked) / elapsed),
        "offering_seconds": round(elapsed, 1),
        "generator_max_lateness_s": round(late, 3),
    }


_LOGGED = re.compile(r"duration: ([\d.]+) ms\s+(?:statement|execute)[^:]*:\s*(.*)")


async def log_statements(dsn: str, every: bool) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"ALTER SYSTEM SET log_min_duration_statement = {0 if every else -1}")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()


def statements_per_event(log: str, taken: int) -> dict[str, Any]:
    """Statements (commits apart) and commits in ``log``, per event taken; the statements (their first
    words) that took the most time: per event, how many and how many microseconds."""
    counted: Counter[str] = Counter()
    texts: Counter[str] = Counter()
    spent: Counter[str] = Counter()
    for match in _LOGGED.finditer(log):
        text = " ".join(match.group(2).split())[:60]
        counted["commits" if text.upper().startswith("COMMIT") else "statements"] += 1
        texts[text] += 1
        spent[text] += float(match.group(1))
    per_event = max(taken, 1)
    return {
        "statements_per_event": round(counted["statements"] / per_event, 2),
        "commits_per_event": round(counted["commits"] / per_event, 3),
        "costliest_statements": {
            text: [round(texts[text] / per_event, 2), round(ms * 1000 / per_event)]
            for text, ms in spent.most_common(20)
        },
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def spread(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(values, 0.5) * 1000, 1),
        "p99_ms": round(percentile(values, 0.99) * 1000, 1),
    }


#: Each tracked event automations took, with its job's times: a batch's (one job per ingestion
#: transaction, see kernel.engage.automations.event_batches) or, split from a failed batch, its own.
_TAKEN_EVENTS = """
    SELECT a.attributes, j.due_at, j.lease_until, j.finished_at
    FROM scheduled_jobs j, jsonb_array_elements_text(j.payload -> 'attributes') AS a(attributes)
    WHERE j.kind = 'automation.events' AND j.state = 'done'
    UNION ALL
    SELECT payload ->> 'attributes', due_at, lease_until, finished_at FROM scheduled_jobs
    WHERE kind = 'automation.event' AND state = 'done' AND position('/' IN key) = 0"""


async def stages(dsn: str, acked: dict[int, float], sent: dict[int, float]) -> dict[str, dict[str, float]]:
    """Where the latency of the messages sent at once went, from the event jobs' rows."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            f"""SELECT t.attributes::jsonb->'seq'->>'v' AS seq, extract(epoch FROM t.due_at) AS queued,
                      extract(epoch FROM t.lease_until) - $1 AS claimed,
                      extract(epoch FROM t.finished_at) AS finished
               FROM ({_TAKEN_EVENTS}) AS t""",
            LEASE_SECONDS,
        )
    finally:
        await conn.close()
    parts: dict[str, list[float]] = {"ingest": [], "queued": [], "slot": [], "walk_and_send": []}
    for row in rows:
        if row["seq"] is None:
            continue
        seq = int(float(row["seq"]))
        if seq not in sent or seq not in acked:
            continue
        parts["ingest"].append(acked[seq] - float(row["queued"]))
        parts["queued"].append(float(row["claimed"]) - float(row["queued"]))
        parts["slot"].append(float(row["finished"]) - float(row["claimed"]))
        parts["walk_and_send"].append(sent[seq] - float(row["finished"]))
    return {name: spread(values) for name, values in parts.items()}


async def done_jobs(dsn: str, kind: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM scheduled_jobs WHERE kind = $1 AND state = 'done'", kind
            )
        )
    finally:
        await conn.close()


async def taken_events(dsn: str) -> int:
    """The tracked events the automations took so far."""
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(f"SELECT count(*) FROM ({_TAKEN_EVENTS}) AS t"))
    finally:
        await conn.close()


async def drain_timers(dsn: str, patience: float) -> dict[str, Any]:
    """Every pending wait made due now; how many the schedulers run per second until none is left (or
    ``patience`` ran out: events still queued make more waits meanwhile)."""
    conn = await asyncpg.connect(dsn)
    try:
        backlog = int(
            await conn.fetchval(
                """WITH due AS (UPDATE scheduled_jobs SET due_at = now()
                                WHERE kind = 'automation.wait' AND state = 'pending' RETURNING 1)
                   SELECT count(*) FROM due"""
            )
        )
        before = await done_jobs(dsn, "automation.wait")
        events_before = await taken_events(dsn)
        began = time.perf_counter()
        left = backlog
        while left and time.perf_counter() - began < patience:
            await asyncio.sleep(0.5)
            left = int(
                await conn.fetchval(
                    """SELECT count(*) FROM scheduled_jobs
                       WHERE kind = 'automation.wait' AND state = 'pending' AND due_at <= now()"""
                )
            )
        elapsed = time.perf_counter() - began
        ran = await done_jobs(dsn, "automation.wait") - before
        events = await taken_events(dsn) - events_before
    finally:
        await conn.close()
    return {
        "timer_backlog": backlog,
        "timer_backlog_left": left,
        "timers_per_second": round(ran / elapsed),
        # Events still queued come first (they are older): the drain is the scheduler's, both together.
        "drain_jobs_per_second": round((ran + events) / elapsed),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    load_before = os.getloadavg()
    with emulator_process(__file__) as (endpoint, emulator):
        settings = {
            "channel_endpoints": json.dumps({EMAIL: endpoint}),
            "scheduler_width": str(args.width),
            "scheduler_claim_size": str(args.claim),
            "scheduler_poll_seconds": "1",
            "db_pool_max_size": str(args.width + 8),
        }
        with herald_kernel(**settings) as kernel:
            dsn = kernel.dsn
            await configure(kernel)
            print(f"seeding {args.profiles:,} profiles ...", flush=True)
            await seed(dsn, 0, args.profiles)
            await automations(kernel)
            if args.pressure:
                await cap_marketing(kernel)
            print(f"offering {args.rate:,} events/s for {args.seconds} s ...", flush=True)
            pg_log = kernel.data_dir / "postgres" / "log"
            log_start = pg_log.stat().st_size if pg_log.exists() else 0
            if args.statements:
                await log_statements(dsn, every=True)
            cpu_before = {**kernel.cpu_seconds(), "emulator": sum(emulator.cpu_times()[:2])}
            began = time.perf_counter()
            events_before = await taken_events(dsn)
            offered = await offer(kernel, await profile_ids(dsn), args.rate, args.seconds, args.batch)
            acked = offered.pop("acked")
            # The messages of the last events: given the same patience as the offering took.
            expected = {seq for seq in acked if seq % len(FLOWS) == 0}
            deadline = time.perf_counter() + max(30.0, args.seconds)
            while True:
                sent = await accepted(endpoint)
                if expected <= set(sent.get("A", {})) or time.perf_counter() > deadline:
                    break
                await asyncio.sleep(1)
            cpu_after = {**kernel.cpu_seconds(), "emulator": sum(emulator.cpu_times()[:2])}
            elapsed = time.perf_counter() - began
            taken = await taken_events(dsn) - events_before
            statements: dict[str, float] = {}
            if args.statements:
                await log_statements(dsn, every=False)
                with pg_log.open(errors="replace") as logged:
                    logged.seek(log_start)
                    statements = statements_per_event(logged.read(), taken)
            at_once = {seq: at for prefix in AT_ONCE for seq, at in sent.get(prefix, {}).items()}
            latencies = [at_once[seq] - acked[seq] for seq in at_once if seq in acked]
            where = await stages(dsn, acked, at_once)
            drained = await drain_timers(dsn, patience=max(60.0, args.seconds))
    result = {
        "profiles": args.profiles,
        "offered_rate": args.rate,
        "batch": args.batch,
        "scheduler_width": args.width,
        "scheduler_claim_size": args.claim,
        "pressure_rules": args.pressure,
        **offered,
        "sent_at_once": len(latencies),
        "cart_abandoned_missing": len(expected - set(sent.get("A", {}))),
        "latency_p50_ms": spread(latencies)["p50_ms"],
        "latency_p99_ms": spread(latencies)["p99_ms"],
        "stages": where,
        **drained,
        "cores": cpu_report(cpu_before, cpu_after, elapsed),
        "events_taken": taken,
        "events_taken_per_second": round(taken / elapsed),
        # Ingestion and the automations' work, per event the automations took.
        "kernel_us_per_event": round((cpu_after["kernel"] - cpu_before["kernel"]) / max(taken, 1) * 1e6),
        "postgres_us_per_event": round(
            (cpu_after["postgres"] - cpu_before["postgres"]) / max(taken, 1) * 1e6
        ),
        **statements,
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }
    return result


def report(result: dict[str, Any]) -> None:
    print(
        f"{result['events_per_second']:,} events/s acknowledged of {result['offered_rate']:,} offered "
        f"({result['failed']} failed); trigger-to-send p50 {result['latency_p50_ms']} ms, "
        f"p99 {result['latency_p99_ms']} ms over {result['sent_at_once']:,} emails sent at once "
        f"({result['cart_abandoned_missing']} cart emails missing); the automations took "
        f"{result['events_taken']:,} events ({result['events_taken_per_second']:,}/s)",
        flush=True,
    )
    for stage, figures in result["stages"].items():
        print(f"  {stage:>14}: p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms", flush=True)
    print(
        f"timer backlog {result['timer_backlog']:,}: {result['timers_per_second']:,} timers/s, "
        f"{result['drain_jobs_per_second']:,} jobs/s with the events still queued "
        f"({result['timer_backlog_left']} left); cores {result['cores']}; CPU per event: kernel "
        f"{result['kernel_us_per_event']} us, PostgreSQL {result['postgres_us_per_event']} us; "
        f"load {result['load_before']} -> {result['load_after']}",
        flush=True,
    )
    if "statements_per_event" in result:
        print(
            f"per event taken: {result['statements_per_event']} statements, "
            f"{result['commits_per_event']} commits",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=5_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--claim", type=int, default=50)
    parser.add_argument("--pressure", action="store_true")
    parser.add_argument("--statements", action="store_true")
    parser.add_argument("--emulator", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.emulator:
        serve_emulator(TimingSparkPost)
        return
    result = asyncio.run(run(args))
    report(result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
