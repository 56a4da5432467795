"""The sender core's per-batch work, compiled core then pure-Python twin, on the batches a worker claims.

    .venv/bin/python benchmarks/sender_bench.py [--batches 40] [--rounds 10] [--seed 7]

Builds the batches first (not timed), shaped as a worker claims them from the outbox: 2,000 rows of one
email channel in the scan's order (sorted by folded address), about 1 % of them repeating the row before
(the same address in another spelling, reached through another profile), domains Zipf-skewed like real
lists and three of them throttled tightly enough that part of each batch is deferred; each recipient's
row of template variables as the worker binds it (profile id, custom id, then the attributes the
templates read). The template is SparkPost's: a subject, text and html with three variables, one of them
in the html field (HTML-escaped there), so every value is substituted by the provider.

Then, per batch, exactly what the worker calls: ``plan_batch`` (adjacent duplicates, the domain
throttle, provider batches) and ``substitution_rows`` with the substitution columns the kernel's own
``Personaliser`` binds for that template. Each core runs ``--rounds`` times over the ``--batches``
batches with a throttle of its own (a batch every 20 ms of simulated time), checks that both cores gave
the same results, and reports recipients per CPU second of this thread (what the core itself costs,
steadier than wall-clock time when other processes share the CPU). Ends with one JSON line:
``cython_rps``, ``python_rps``, ``ratio`` (per CPU second), the two steps' own figures, and wall clock.
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import orjson

from herald.v1 import messages_pb2
from kernel.delivery.personalise import Personaliser
from kernel.delivery.templates import compile_template
from sender_ext import _core_py
from sender_ext.types import AddressForm, Rate, Substitution

DOMAINS = [
    "gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "aol.com", "gmx.de", "web.de",
    "live.com", "yahoo.co.uk", "orange.fr", "free.fr", "comcast.net", "msn.com", "mail.ru", "yandex.ru",
    "protonmail.com", "me.com", "btinternet.com", "t-online.de", "libero.it", "laposte.net", "wanadoo.fr",
    "sbcglobal.net", "verizon.net", "att.net", "qq.com", "163.com", "naver.com", "rediffmail.com",
]  # fmt: skip
FIRST = ["anna", "ben", "chloe", "david", "emma", "felix", "grace", "hugo", "inès", "jack", "kim", "liam"]
LAST = ["martin", "smith", "garcia", "müller", "rossi", "dubois", "o'brien", "silva", "jones", "kim"]
CITIES = ["Paris", "Berlin", "Lyon", "München", "London", "Rome", "Madrid", "Marseille & Co"]
PLANS = ["free", "pro", "team", "enterprise"]
#: Per-domain limits that defer part of each batch (a batch every 20 ms: gmail.com gets 400 of its ~650
#: rows a batch at 20,000/s); the other domains go at the default rate, which they do not reach.
LIMITS = {
    "gmail.com": Rate(20_000, burst=400),
    "yahoo.com": Rate(8_000, burst=160),
    "gmx.de": Rate(1_000, burst=20),
}
DEFAULT = Rate(1_000_000)
BATCH_ROWS = 2_000
MAX_SIZES = [2_000]  # one channel, SparkPost: up to 2,000 recipients a transmission here
TEMPLATE = messages_pb2.MessageTemplate(
    subject="{{ first_name }}, news from {{ city }}",
    text="Hi {{ first_name }}, your {{ plan }} plan is ready.",
    html="<p>Hi {{ first_name }},</p><p>your plan is ready.</p>",
)
#: The layout the worker binds the personaliser to: profile id, custom id, then the attributes read.
NAMES = [None, None, "city", "first_name", "plan"]


@dataclass
class Batch:
    keys: list[str]
    addresses: list[str]
    rows: list[tuple[Any, ...]]


@dataclass
class Run:
    cpu_seconds: dict[str, float] = field(default_factory=lambda: {"plan": 0.0, "substitution": 0.0})
    wall_seconds: float = 0.0
    deferred: int = 0
    duplicates: int = 0
    #: What the first round decided, to check that both cores agree.
    results: list[Any] = field(default_factory=list)


def claimed_batches(count: int, seed: int) -> list[Batch]:
    """``count`` batches of BATCH_ROWS rows, each sorted by folded address, ~1 % adjacent repeats."""
    rng = random.Random(seed)
    weights = [1 / (rank + 1) ** 1.2 for rank in range(len(DOMAINS))]
    batches = []
    for number in range(count):
        unique = BATCH_ROWS - BATCH_ROWS // 100
        domains = rng.choices(DOMAINS, weights, k=unique)
        people = [(rng.choice(FIRST), rng.choice(LAST)) for _ in range(unique)]
        addresses = [
            f"{first}.{last}{number}x{i}@{d}"
            for i, ((first, last), d) in enumerate(zip(people, domains, strict=True))
        ]
        addresses = [address.replace("'", "") for address in addresses]
        entries = [(address, first, last) for address, (first, last) in zip(addresses, people, strict=True)]
        for address, first, last in rng.sample(entries, BATCH_ROWS - unique):  # another spelling, next row
            local, _, domain = address.partition("@")
            entries.append((f"{local.capitalize()}@{domain}", first, last))
        entries.sort(key=lambda entry: (entry[0].lower(), entry[0]))
        batches.append(
            Batch(
                keys=[address.lower() for address, _, _ in entries],
                addresses=[address for address, _, _ in entries],
                rows=[
                    (
                        uuid.UUID(int=rng.getrandbits(128)),
                        None,
                        rng.choice(CITIES),
                        first.title(),
                        rng.choice(PLANS),
                    )
                    for _, first, _ in entries
                ],
            )
        )
    return batches


def run(core: ModuleType, batches: list[Batch], rounds: int, columns: list[Substitution]) -> Run:
    """Every batch, ``rounds`` times, through ``plan_batch`` then ``substitution_rows``."""
    throttle = core.Throttle(DEFAULT, LIMITS)
    forms = bytes([AddressForm.MAILBOX]) * BATCH_ROWS
    channels = [0] * BATCH_ROWS
    result = Run()
    cpu_clock = time.thread_time
    started = time.perf_counter()
    for round_number in range(rounds):
        for number, batch in enumerate(batches):
            now = 1_000_000.0 + (round_number * len(batches) + number) * 0.02
            t0 = cpu_clock()
            plan = core.plan_batch(
                batch.keys, batch.addresses, channels, forms, None, throttle, now, MAX_SIZES
            )
            t1 = cpu_clock()
            values = core.substitution_rows(columns, batch.rows)
            t2 = cpu_clock()
            result.cpu_seconds["plan"] += t1 - t0
            result.cpu_seconds["substitution"] += t2 - t1
            if round_number == 0:
                result.duplicates += BATCH_ROWS - sum(plan.unique)
                result.deferred += sum(plan.unique) - sum(plan.go)
                result.results.append((plan, values))
    result.wall_seconds = time.perf_counter() - started
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=40, help="distinct claimed batches")
    parser.add_argument("--rounds", type=int, default=10, help="passes over them")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    from sender_ext import _core  # the benchmark is about the compiled core: fail loudly without it

    print(f"building {args.batches} batches of {BATCH_ROWS:,} rows (not timed) ...", flush=True)
    batches = claimed_batches(args.batches, args.seed)
    personalise = Personaliser(compile_template(TEMPLATE), placeholder="{{{%s}}}").bind(NAMES)
    assert personalise.substitutions is not None
    columns = list(personalise.substitutions)
    recipients = args.batches * args.rounds * BATCH_ROWS
    runs: dict[str, Run] = {}
    for name, core in (("cython", _core), ("python", _core_py)):
        runs[name] = figures = run(core, batches, args.rounds, columns)
        steps = ", ".join(
            f"{step} {recipients / seconds:,.0f}/s" for step, seconds in figures.cpu_seconds.items()
        )
        total = sum(figures.cpu_seconds.values())
        print(f"{name:>6}: {recipients / total:>11,.0f} recipients per CPU second ({steps})", flush=True)
    cython, python = runs["cython"], runs["python"]
    agree = cython.results == python.results
    print(
        f"{len(columns)} substituted values per recipient; per pass: {cython.duplicates:,} duplicates, "
        f"{cython.deferred:,} deferred by the throttle, of {args.batches * BATCH_ROWS:,} rows; "
        f"both cores agree: {agree}"
    )
    cython_cpu, python_cpu = sum(cython.cpu_seconds.values()), sum(python.cpu_seconds.values())
    summary = {
        "benchmark": "sender_core",
        "batch_rows": BATCH_ROWS,
        "batches": args.batches,
        "rounds": args.rounds,
        "recipients": recipients,
        "duplicates_per_pass": cython.duplicates,
        "deferred_per_pass": cython.deferred,
        "agree": agree,
        "cython_rps": round(recipients / cython_cpu),
        "python_rps": round(recipients / python_cpu),
        "ratio": round(python_cpu / cython_cpu, 2),
        "plan_cython_rps": round(recipients / cython.cpu_seconds["plan"]),
        "plan_python_rps": round(recipients / python.cpu_seconds["plan"]),
        "substitution_cython_rps": round(recipients / cython.cpu_seconds["substitution"]),
        "substitution_python_rps": round(recipients / python.cpu_seconds["substitution"]),
        "cython_wall_seconds": round(cython.wall_seconds, 3),
        "python_wall_seconds": round(python.wall_seconds, 3),
    }
    print(orjson.dumps(summary).decode())


if __name__ == "__main__":
    main()
