"""``herald import FILE``: stream a JSONL or CSV file of profiles into ImportProfiles.

The row formats are documented in :mod:`kernel.import_rows` (and the README, "Importing profiles"); the
format comes from the extension (``.jsonl``/``.ndjson``, ``.csv``) unless ``--format`` says otherwise.

The file is read lazily, line by line, so its size does not matter. Lines that cannot be parsed are
rejected here with their line number and never sent; the others go to the server in messages of up to
:data:`BATCH_SIZE` profiles over one stream, with a progress bar (bytes read) on stderr. A message over the
server's limit (:data:`~kernel.api.limits.MAX_MESSAGE_BYTES`) would end the whole stream, so a message is
cut short when its next profile would not fit, and a profile that fits in no message is rejected here,
alone. A JSONL line longer than :data:`MAX_LINE_BYTES` is rejected without being held whole or parsed
(its profile would not fit either: JSON takes more room than protobuf). The server reports the profiles it
rejected by their position in the stream, which is mapped back to a line number.
The summary (stdout) lists the counts and every rejected line with its reason (the first
:data:`MAX_LISTED` of each side).

Exit status: 0 when every line was imported, 1 when some were rejected, 2 when the import could not run
or stopped (unreadable file, bad CSV header, server unreachable, bad key). An import is a series of
upserts, so running it again after a failure is safe.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import os
import sys
from array import array
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import grpc
from tqdm import tqdm

from herald.v1 import profiles_pb2, profiles_pb2_grpc
from kernel.api.limits import MAX_MESSAGE_BYTES
from kernel.import_rows import HeaderError, RowError, parse_csv_header, parse_csv_row, parse_json_line

BATCH_SIZE = 500
#: Longer JSONL lines are skipped unread (see the module documentation).
MAX_LINE_BYTES = MAX_MESSAGE_BYTES
# What a profile adds to a message besides its own bytes: the field's tag and length (a varint).
_FIELD_OVERHEAD = 6
_SKIP_BYTES = 1 << 20
MAX_LISTED = 1000
FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}

# (line number, the profile or why the line cannot be one)
ParsedRow = tuple[int, profiles_pb2.UpsertProfileRequest | RowError]


class ImportFailed(Exception):
    """The import cannot start or go on; the message is for the operator."""


def detect_format(path: Path, fmt: str | None) -> str:
    if fmt:
        return fmt
    detected = FORMATS.get(path.suffix.lower())
    if detected is None:
        raise ImportFailed(f"cannot tell the format of {path.name}: use --format jsonl or --format csv")
    return detected


@dataclass(frozen=True, slots=True)
class OverlongLine:
    """A line longer than :data:`MAX_LINE_BYTES`, skipped unread; ``size`` counts its bytes."""

    size: int


def jsonl_rows(lines: Iterable[bytes | OverlongLine]) -> Iterator[ParsedRow]:
    for number, line in enumerate(lines, 1):
        if isinstance(line, OverlongLine):
            yield (
                number,
                RowError(f"the line takes {line.size} bytes; lines over {MAX_LINE_BYTES} are not read"),
            )
            continue
        if not line.strip():
            continue
        try:
            yield number, parse_json_line(line)
        except RowError as error:
            yield number, error


def csv_rows(lines: Iterable[bytes]) -> Iterator[ParsedRow]:
    """Rows after the header, numbered by the line they start on (a quoted cell may span lines)."""
    reader = csv.reader(line.decode("utf-8", "surrogateescape") for line in lines)
    try:
        header = next(reader, None)
        if header is None:
            raise ImportFailed("the CSV file is empty: it needs a header row")
        columns = parse_csv_header(header)
    except (HeaderError, csv.Error) as error:
        raise ImportFailed(f"line 1: {error}") from None
    previous = reader.line_num
    while True:
        start = previous + 1
        try:
            cells = next(reader, None)
        except csv.Error as error:
            yield start, RowError(str(error))
            previous = reader.line_num
            continue
        if cells is None:
            return
        previous = reader.line_num
        if not any(cells):
            continue
        try:
            yield start, parse_csv_row(columns, cells)
        except RowError as error:
            yield start, error


@dataclass
class Report:
    """What happened to the file's lines, gathered while streaming."""

    # Line number of each profile sent, by its position in the stream.
    sent_lines: array[int] = field(default_factory=lambda: array("q"))
    # (line, reason), the first MAX_LISTED found locally; the count holds them all.
    local: list[tuple[int, str]] = field(default_factory=list)
    local_count: int = 0

    def reject_locally(self, line: int, error: RowError) -> None:
        self.local_count += 1
        if len(self.local) < MAX_LISTED:
            self.local.append((line, str(error)))


async def _messages(
    rows: Iterator[ParsedRow], report: Report
) -> AsyncIterator[profiles_pb2.ImportProfilesRequest]:
    """The stream's messages: each of at most BATCH_SIZE profiles and MAX_MESSAGE_BYTES."""
    batch: list[profiles_pb2.UpsertProfileRequest] = []
    batch_bytes = 0
    for line, parsed in rows:
        if isinstance(parsed, RowError):
            report.reject_locally(line, parsed)
            continue
        size = parsed.ByteSize() + _FIELD_OVERHEAD
        if size > MAX_MESSAGE_BYTES:
            report.reject_locally(
                line,
                RowError(
                    f"the profile takes {size} bytes; a message to the server carries {MAX_MESSAGE_BYTES}"
                ),
            )
            continue
        if len(batch) == BATCH_SIZE or batch_bytes + size > MAX_MESSAGE_BYTES:
            yield profiles_pb2.ImportProfilesRequest(profiles=batch)
            batch, batch_bytes = [], 0
        batch.append(parsed)
        batch_bytes += size
        report.sent_lines.append(line)
    if batch:
        yield profiles_pb2.ImportProfilesRequest(profiles=batch)


def _counted(file: IO[bytes], progress: tqdm) -> Iterator[bytes]:
    for line in file:
        progress.update(len(line))
        yield line


def _bounded_lines(file: IO[bytes], progress: tqdm) -> Iterator[bytes | OverlongLine]:
    """The file's lines, except that a line over MAX_LINE_BYTES is read through in pieces and dropped."""
    while line := file.readline(MAX_LINE_BYTES + 1):
        progress.update(len(line))
        if len(line) <= MAX_LINE_BYTES or line.endswith(b"\n"):
            yield line
            continue
        size = len(line)
        while not line.endswith(b"\n") and (line := file.readline(_SKIP_BYTES)):
            progress.update(len(line))
            size += len(line)
        yield OverlongLine(size)


def summary(reply: profiles_pb2.ImportProfilesResponse, report: Report) -> str:
    """The lines printed at the end: counts, then each rejected line with its reason, in file order."""
    rejected = [(line, reason) for line, reason in report.local]
    for rejection in reply.rejections:
        reason = f"{rejection.field}: {rejection.reason}" if rejection.field else rejection.reason
        rejected.append((report.sent_lines[rejection.index], reason))
    total = reply.rejected + report.local_count
    lines = [
        f"imported: {reply.imported} (created: {reply.created}, updated: {reply.imported - reply.created})",
        f"rejected: {total}",
    ]
    lines += [f"  line {line}: {reason}" for line, reason in sorted(rejected)]
    unlisted = total - len(rejected)
    if unlisted:
        lines.append(f"  ... and {unlisted} more rejected lines not listed")
    return "\n".join(lines)


@contextlib.contextmanager
def _rows_of(path: Path, fmt: str) -> Iterator[Iterator[ParsedRow]]:
    """The file's parsed rows, read lazily while a progress bar (bytes, stderr) follows the reading."""
    try:
        file = path.open("rb")
    except OSError as error:
        raise ImportFailed(f"cannot read {path}: {error.strerror}") from None
    size = os.fstat(file.fileno()).st_size
    with (
        file,
        tqdm(total=size, unit="B", unit_scale=True, desc=path.name, file=sys.stderr, disable=None) as bar,
    ):
        rows = csv_rows(_counted(file, bar)) if fmt == "csv" else jsonl_rows(_bounded_lines(file, bar))
        yield _started(rows)


async def _send(
    rows: Iterator[ParsedRow], api_key: str, address: str
) -> tuple[profiles_pb2.ImportProfilesResponse, Report]:
    report = Report()
    async with grpc.aio.insecure_channel(address) as channel:
        stub = profiles_pb2_grpc.ProfileServiceStub(channel)
        try:
            reply = await stub.ImportProfiles(
                _messages(rows, report), metadata=(("authorization", f"Bearer {api_key}"),)
            )
        except grpc.aio.AioRpcError as error:
            raise ImportFailed(
                f"the server stopped the import: {error.code().name}: {error.details()}"
                " (profiles sent before this may be stored; importing the file again is safe)"
            ) from None
    return reply, report


def _started(rows: Iterator[ParsedRow]) -> Iterator[ParsedRow]:
    """``rows`` with its first step taken now, so that a bad CSV header fails before the call starts."""
    first = next(rows, None)
    return rows if first is None else itertools.chain([first], rows)


async def run_import(path: str | Path, api_key: str, address: str, fmt: str | None) -> int:
    """Import the file; prints the summary (stdout) or the fatal error (stderr); returns the exit status."""
    path = Path(path)
    try:
        with _rows_of(path, detect_format(path, fmt)) as rows:
            reply, report = await _send(rows, api_key, address)
    except ImportFailed as error:
        print(f"herald import: {error}", file=sys.stderr)
        return 2
    print(summary(reply, report))
    return 1 if reply.rejected or report.local_count else 0
