"""The import's per-profile Python work in one process, without the server: CPU per profile of each step.

    .venv/bin/python benchmarks/import_cpu_bench.py [--profiles 20000] [--repeats 5]

The same generated profiles as ``import_bench.py`` (benchmarks/profile_files.py) go through the steps
that cost CPU per line outside gRPC and PostgreSQL. As ``herald import`` sends a JSONL file now: the
command reads each line as JSON for what it names (``json_names``), and the kernel turns the line into
its changes (``line_changes``: the direct path, compiled when built, and as Python source), in batches of
500 as a message brings them. As requests (what a CSV row, or a JSONL line before, goes through): the
line to UpsertProfileRequest (``parse_json_line``), the protobuf encoding and decoding of a 500-profile
ImportProfilesRequest, the kernel's validation of each profile (``parse_upsert`` with the built-in
channels' address kinds), and within it the phone and email normalisers. Each figure is the best of the
repeats, in CPU time (``time.process_time``), so that a busy machine slows it less than wall time; it
still says more as a ratio against another tree measured the same hour (``PYTHONPATH=<tree>``) than
alone. The last line printed is the JSON summary.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import orjson
from profile_files import profile_line

from herald.v1 import profiles_pb2
from kernel.import_rows import json_names, json_object, parse_json_line
from kernel.plugins import ChannelManager
from kernel.profiles import _line_direct
from kernel.profiles.attributes import AttributeLimits
from kernel.profiles.changes import ProfileChanges, parse_upsert
from kernel.profiles.import_lines import DIRECT, IMPLEMENTATION, DirectPath, line_changes
from kernel.settings import Settings

BATCH_SIZE = 500


def cpu_us_per_item(step: Callable[[], object], items: int, repeats: int) -> float:
    """The best of ``repeats`` runs of ``step`` (which handles ``items`` items), in CPU us per item."""
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        step()
        best = min(best, time.process_time() - started)
    return round(best / items * 1e6, 2)


def batches(requests: Sequence[profiles_pb2.UpsertProfileRequest]) -> list[bytes]:
    return [
        profiles_pb2.ImportProfilesRequest(profiles=requests[start : start + BATCH_SIZE]).SerializeToString()
        for start in range(0, len(requests), BATCH_SIZE)
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    count, repeats = args.profiles, args.repeats
    lines = [profile_line(n) for n in range(count)]
    requests = [parse_json_line(line) for line in lines]
    encoded = batches(requests)
    decoded = [
        request
        for data in encoded
        for request in profiles_pb2.ImportProfilesRequest.FromString(data).profiles
    ]
    kinds = ChannelManager().address_kinds
    limits = AttributeLimits.from_settings(Settings())
    now = datetime.now(UTC)
    phones = [
        address.value for request in requests for address in request.add_addresses if address.kind == "phone"
    ]
    emails = [
        address.value for request in requests for address in request.add_addresses if address.kind == "email"
    ]
    phone, email = kinds.kinds["phone"].normalise, kinds.kinds["email"].normalise

    def lines_changes(direct: DirectPath = DIRECT) -> list[ProfileChanges]:
        """The lines' changes, a message's worth held at a time as the kernel holds them."""
        changes: list[ProfileChanges] = []
        for start in range(0, count, BATCH_SIZE):
            changes = [
                line_changes(line, limits, kinds, now, direct) for line in lines[start : start + BATCH_SIZE]
            ]
        return changes

    figures = {
        "cli_line_names_us": cpu_us_per_item(
            lambda: [json_names(json_object(line)) for line in lines], count, repeats
        ),
        "kernel_line_changes_us": cpu_us_per_item(lines_changes, count, repeats),
        "kernel_line_changes_source_us": cpu_us_per_item(
            lambda: lines_changes(_line_direct.direct_changes), count, repeats
        ),
        "cli_parse_json_line_us": cpu_us_per_item(
            lambda: [parse_json_line(line) for line in lines], count, repeats
        ),
        "protobuf_encode_us": cpu_us_per_item(lambda: batches(requests), count, repeats),
        "protobuf_decode_us": cpu_us_per_item(
            lambda: [profiles_pb2.ImportProfilesRequest.FromString(data) for data in encoded], count, repeats
        ),
        "kernel_parse_upsert_us": cpu_us_per_item(
            lambda: [parse_upsert(request, limits, kinds, now) for request in decoded], count, repeats
        ),
        "phone_normalise_us": cpu_us_per_item(
            lambda: [phone(value) for value in phones], len(phones), repeats
        ),
        "email_normalise_us": cpu_us_per_item(
            lambda: [email(value) for value in emails], len(emails), repeats
        ),
    }
    print(
        f"{count:,} generated profiles ({len(phones):,} phones), CPU per item, best of {repeats}"
        f" (line_changes: the {IMPLEMENTATION} direct path):"
    )
    for name, value in figures.items():
        print(f"  {name.removesuffix('_us'):30s} {value:8.2f} us")
    summary = {"benchmark": "import_cpu", "profiles": count, "direct_path": IMPLEMENTATION, **figures}
    print(orjson.dumps(summary).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
