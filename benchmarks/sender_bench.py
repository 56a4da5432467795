"""The sender core's per-batch pipeline, compiled core then pure-Python twin, over the same recipients.

    .venv/bin/python benchmarks/sender_bench.py [--recipients 1000000] [--batch 10000] [--seed 7]

Builds the recipients first (not timed): email addresses with about 30 % duplicates (some of them
written with other capitals or stray spaces, as real lists have), over 50 domains skewed like real lists
(Zipf-like, gmail.com first), each row on one of three channels. Then, per batch of ``--batch`` rows, as
a sender worker would after claiming them: normalise → dedup (one ``Deduper`` for the whole send) →
domain throttle → provider batches. The deduper is sized for the send up front (``expected``), as the
sender can: it knows how many rows the send planned.

Times every stage in wall-clock time (the target's unit) and in this thread's CPU time (what the core
itself costs, steadier when other processes share the CPU), checks that both cores gave the same
results, and ends with one JSON line: ``cython_rps``, ``python_rps``, ``ratio`` (wall clock), their
``*_cpu_*`` counterparts, and the stage timings.
"""

from __future__ import annotations

import argparse
import random
import time
from dataclasses import dataclass, field
from types import ModuleType

import orjson

from sender_ext import _core_py
from sender_ext.types import AddressForm, Rate

DOMAINS = [
    "gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "aol.com", "gmx.de", "web.de",
    "live.com", "yahoo.co.uk", "orange.fr", "free.fr", "comcast.net", "msn.com", "mail.ru", "yandex.ru",
    "protonmail.com", "me.com", "btinternet.com", "t-online.de", "libero.it", "laposte.net", "wanadoo.fr",
    "sbcglobal.net", "verizon.net", "att.net", "qq.com", "163.com", "naver.com", "rediffmail.com",
    "bigpond.com", "shaw.ca", "rogers.com", "telus.net", "seznam.cz", "wp.pl", "o2.pl", "virgilio.it",
    "tiscali.it", "sky.com", "ntlworld.com", "zoho.com", "fastmail.com", "hey.com", "acme-corp.com",
    "example.org", "university.edu", "startup.io", "bigbank.com", "shop.example",
]  # fmt: skip
FIRST = ["anna", "ben", "chloe", "david", "emma", "felix", "grace", "hugo", "ines", "jack", "kim", "liam"]
LAST = ["martin", "smith", "garcia", "müller", "rossi", "dubois", "nowak", "silva", "jones", "kim"]
CHANNEL_SIZES = [2000, 1000, 100]  # e.g. SparkPost transmissions, another ESP, SMTP connections
STAGES = ("normalize", "dedup", "throttle", "batches")


@dataclass
class Recipients:
    kinds: bytes
    addresses: list[str]
    channels: list[int]


@dataclass
class Run:
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    deferred: int = 0
    #: What the pipeline decided, to check that both cores agree.
    results: list[tuple[bytes, bytes, bytes, bytes]] = field(default_factory=list)


def recipients(count: int, seed: int) -> Recipients:
    """``count`` rows, about 30 % of them repeating an earlier address, domains Zipf-skewed."""
    rng = random.Random(seed)
    weights = [1 / (rank + 1) ** 1.2 for rank in range(len(DOMAINS))]
    unique = int(count * 0.7)
    domains = rng.choices(DOMAINS, weights, k=unique)
    distinct = [
        f"{rng.choice(FIRST)}.{rng.choice(LAST)}{number}@{domain}" for number, domain in enumerate(domains)
    ]
    rows = distinct + rng.choices(distinct, k=count - unique)
    for index in range(unique, count, 5):  # a fifth of the repeats are written differently
        local, _, domain = rows[index].partition("@")
        rows[index] = f" {local.capitalize()}@{domain.upper()}" if index % 2 else f"{local}@{domain} "
    rng.shuffle(rows)
    channels = rng.choices(range(len(CHANNEL_SIZES)), [0.7, 0.2, 0.1], k=count)
    return Recipients(bytes([AddressForm.MAILBOX]) * count, rows, channels)


def run(core: ModuleType, data: Recipients, batch: int) -> Run:
    """The per-batch pipeline over all recipients; one send, so one deduper and one throttle."""
    deduper = core.Deduper(len(data.addresses))
    # Tight enough that the bigger domains run out of budget and part of each batch is deferred.
    limits = {"gmail.com": Rate(100_000, burst=5_000), "yahoo.com": Rate(40_000, burst=2_000)}
    throttle = core.Throttle(Rate(10_000, burst=1_000), limits)
    result = Run()
    clock, cpu_clock = time.perf_counter, time.thread_time
    for number, start in enumerate(range(0, len(data.addresses), batch)):
        kinds = data.kinds[start : start + batch]
        addresses = data.addresses[start : start + batch]
        channels = data.channels[start : start + batch]
        now = 1_000_000.0 + number * 0.02  # a batch every 20 ms of simulated time
        cpu_started = cpu_clock()
        t0 = clock()
        normal = core.normalize_batch(kinds, addresses)
        t1 = clock()
        dedup = deduper.feed(kinds, normal)
        t2 = clock()
        admission = throttle.take_batch(kinds, normal, now, dedup.send)
        t3 = clock()
        batches = core.group_batches(channels, CHANNEL_SIZES, admission.go)
        t4 = clock()
        result.cpu_seconds += cpu_clock() - cpu_started
        for stage, seconds in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            result.stages[stage] += seconds
        result.deferred += sum(dedup.send) - sum(admission.go)
        result.results.append(
            (bytes(dedup.send), admission.not_before.tobytes(), batches.rows.tobytes(), bytes(dedup.first))
        )
    result.seconds = sum(result.stages.values())  # the core only: not slicing the data, not checking
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipients", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    from sender_ext import _core  # the benchmark is about the compiled core: fail loudly without it

    print(f"building {args.recipients:,} recipients (not timed) ...", flush=True)
    data = recipients(args.recipients, args.seed)
    runs: dict[str, Run] = {}
    for name, core in (("cython", _core), ("python", _core_py)):
        runs[name] = figures = run(core, data, args.batch)
        stages = ", ".join(f"{stage} {seconds * 1e3:.0f} ms" for stage, seconds in figures.stages.items())
        print(
            f"{name:>6}: {args.recipients / figures.seconds:>11,.0f} recipients/s wall clock, "
            f"{args.recipients / figures.cpu_seconds:>11,.0f} per CPU second  ({stages})",
            flush=True,
        )
    cython, python = runs["cython"], runs["python"]
    agree = cython.results == python.results
    distinct = sum(sum(send) for send, *_ in cython.results)
    print(
        f"distinct addresses: {distinct:,} of {args.recipients:,}; deferred by the throttle: "
        f"{cython.deferred:,}; both cores agree: {agree}"
    )
    ratio, cpu_ratio = python.seconds / cython.seconds, python.cpu_seconds / cython.cpu_seconds
    print(f"ratio: {ratio:.1f}x wall clock, {cpu_ratio:.1f}x CPU (preliminary: the CPU is shared)")
    summary = {
        "benchmark": "sender_core",
        "recipients": args.recipients,
        "batch": args.batch,
        "distinct": distinct,
        "deferred": cython.deferred,
        "agree": agree,
        "cython_rps": round(args.recipients / cython.seconds),
        "python_rps": round(args.recipients / python.seconds),
        "ratio": round(ratio, 2),
        "cython_cpu_rps": round(args.recipients / cython.cpu_seconds),
        "python_cpu_rps": round(args.recipients / python.cpu_seconds),
        "cpu_ratio": round(cpu_ratio, 2),
        "cython_stage_ms": {stage: round(s * 1e3, 1) for stage, s in cython.stages.items()},
        "python_stage_ms": {stage: round(s * 1e3, 1) for stage, s in python.stages.items()},
    }
    print(orjson.dumps(summary).decode())


if __name__ == "__main__":
    main()
