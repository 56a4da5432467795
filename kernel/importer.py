"""``herald import FILE``: send a JSONL or CSV file of profiles to ImportProfiles, batch by batch.

The row formats are documented in :mod:`kernel.import_rows` (and the README, "Importing profiles"); the
format comes from the extension (``.jsonl``/``.ndjson``, ``.csv``) unless ``--format`` says otherwise.

The file is read lazily, line by line, so its size does not matter. Lines that cannot be parsed are
rejected here with their line number and never sent; the others go to the server in batches of up to
:data:`BATCH_SIZE` profiles, each batch its own ImportProfiles call (a stream of one message) whose answer
says what of it was stored: the progress bar (stderr) counts profiles stored, and the file goes on being
parsed while up to :data:`CALLS_IN_FLIGHT` batches are being stored. A JSONL line is sent as it is
(``jsonl_lines``), read as JSON here only for what it names: the server turns it into its profile and
judges its shape with the rest, so that no line is turned into a protobuf request here only for the
server to read it back. A CSV row is sent as a request. A batch
naming a profile reference or an address that a batch still being stored names waits for it, so that a
profile named on several lines ends as the last of them says, as if the file were applied line by line.
Only the batches in flight are held in memory.

A message over the server's limit (:data:`~kernel.api.limits.MAX_MESSAGE_BYTES`) would fail the call, so
a batch is cut short when its next profile would not fit, and a profile that fits in no message is
rejected here, alone. A JSONL line longer than :data:`MAX_LINE_BYTES` is rejected without being held
whole or parsed (it would not fit in a message either). The server reports the profiles it rejected by
their position in the batch and the field: a JSONL line's field as the file names it, a CSV row's as the
request does, the row parsed again to name it by its column (:class:`~kernel.import_rows.Origins`).
The summary (stdout) lists the counts and every rejected line with its reason (the first
:data:`MAX_LISTED` of each side).

Exit status: 0 when every line was imported, 1 when some were rejected, 2 when the import could not run
or stopped (unreadable file, bad CSV header, server unreachable, bad key): the batches confirmed before
are stored. An import is a series of upserts, so running it again after a failure is safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import functools
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import grpc

from herald.v1 import profiles_pb2, profiles_pb2_grpc
from kernel.api.limits import MAX_MESSAGE_BYTES
from kernel.import_progress import Progress
from kernel.import_rows import (
    Column,
    HeaderError,
    Origins,
    RowError,
    json_names,
    json_object,
    parse_csv_header,
    parse_csv_row,
)

BATCH_SIZE = 500
#: Batches being stored at once, each its own call: the server stores some while the next is parsed.
CALLS_IN_FLIGHT = 4
#: Longer JSONL lines are skipped unread (see the module documentation).
MAX_LINE_BYTES = MAX_MESSAGE_BYTES
# What a profile adds to a message besides its own bytes: the field's tag and length (a varint).
_FIELD_OVERHEAD = 6
_SKIP_BYTES = 1 << 20
MAX_LISTED = 1000
FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}

#: The profile references and addresses a row names: (``custom_id``, ``"u1"``), (``email``, ``"a@b.c"``).
Names = set[tuple[str, str]]
#: The server's name of a rejected field -> the file's.
FieldNamer = Callable[[str], str]
# (line number, what is sent for it: a request or the JSONL line itself, or why the line cannot be one;
# what it names; how to name its fields the file's way)
ParsedRow = tuple[int, profiles_pb2.UpsertProfileRequest | bytes | RowError, Names, FieldNamer]


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


def _as_named(server_field: str) -> str:
    """A field the server names as the file does (a JSONL line's), or of a row never sent."""
    return server_field


def _csv_field(columns: list[Column], cells: list[str], server_field: str) -> str:
    origins = Origins()
    parse_csv_row(columns, cells, origins)
    return origins.name(server_field)


def _request_names(request: profiles_pb2.UpsertProfileRequest) -> Names:
    ref = request.profile
    kind = ref.WhichOneof("ref") or ""
    names = {(kind, getattr(ref, kind) if kind else "")}
    names.update((address.kind, address.value) for address in request.add_addresses)
    return names


def jsonl_rows(lines: Iterable[bytes | OverlongLine]) -> Iterator[ParsedRow]:
    for number, line in enumerate(lines, 1):
        if isinstance(line, OverlongLine):
            reason = f"the line takes {line.size} bytes; lines over {MAX_LINE_BYTES} are not read"
            yield number, RowError(reason), set(), _as_named
            continue
        if not line.strip():
            continue
        try:
            yield number, line, json_names(json_object(line)), _as_named
        except RowError as error:
            yield number, error, set(), _as_named


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
            yield start, RowError(str(error)), set(), _as_named
            previous = reader.line_num
            continue
        if cells is None:
            return
        previous = reader.line_num
        if not any(cells):
            continue
        try:
            request = parse_csv_row(columns, cells)
        except RowError as error:
            yield start, error, set(), _as_named
            continue
        yield start, request, _request_names(request), functools.partial(_csv_field, columns, cells)


@dataclass
class Report:
    """What happened to the file's lines, gathered as the batches are answered."""

    imported: int = 0
    created: int = 0
    # Rejected here (never sent) and by the server.
    local_count: int = 0
    server_count: int = 0
    # (line, reason), the first MAX_LISTED of each side; the counts hold them all.
    local: list[tuple[int, str]] = field(default_factory=list)
    server: list[tuple[int, str]] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return self.local_count + self.server_count

    def reject_locally(self, line: int, error: RowError) -> None:
        self.local_count += 1
        if len(self.local) < MAX_LISTED:
            self.local.append((line, str(error)))

    def add(self, batch: Batch, reply: profiles_pb2.ImportProfilesResponse) -> None:
        self.imported += reply.imported
        self.created += reply.created
        self.server_count += reply.rejected
        for rejection in reply.rejections[: MAX_LISTED - len(self.server)]:
            name = batch.namers[rejection.index](rejection.field) if rejection.field else ""
            reason = f"{name}: {rejection.reason}" if name else rejection.reason
            self.server.append((batch.lines[rejection.index], reason))


@dataclass(slots=True)
class Batch:
    """The profiles of one ImportProfiles call, and what it takes to report on them."""

    requests: list[profiles_pb2.UpsertProfileRequest] = field(default_factory=list)
    # Or, from a JSONL file, its lines as they are.
    json_lines: list[bytes] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    namers: list[FieldNamer] = field(default_factory=list)
    # The profile references and addresses it names (see the module documentation).
    names: Names = field(default_factory=set)
    size: int = 0
    # Bytes of the file read once it was complete: the share of the file stored with it.
    bytes_done: int = 0

    def add(
        self,
        line: int,
        profile: profiles_pb2.UpsertProfileRequest | bytes,
        names: Names,
        namer: FieldNamer,
        size: int,
    ) -> None:
        if isinstance(profile, bytes):
            self.json_lines.append(profile)
        else:
            self.requests.append(profile)
        self.lines.append(line)
        self.namers.append(namer)
        self.size += size
        self.names |= names

    def message(self) -> profiles_pb2.ImportProfilesRequest:
        return profiles_pb2.ImportProfilesRequest(profiles=self.requests, jsonl_lines=self.json_lines)

    def waits_for(self, other: Batch) -> bool:
        return not self.names.isdisjoint(other.names)


def _batches(rows: Iterator[ParsedRow], report: Report, position: Callable[[], int]) -> Iterator[Batch]:
    """The batches to send: each of at most BATCH_SIZE profiles and MAX_MESSAGE_BYTES."""
    batch = Batch()
    for line, parsed, names, namer in rows:
        if isinstance(parsed, RowError):
            report.reject_locally(line, parsed)
            continue
        size = (len(parsed) if isinstance(parsed, bytes) else parsed.ByteSize()) + _FIELD_OVERHEAD
        if size > MAX_MESSAGE_BYTES:
            report.reject_locally(
                line,
                RowError(
                    f"the profile takes {size} bytes; a message to the server carries {MAX_MESSAGE_BYTES}"
                ),
            )
            continue
        if len(batch.lines) == BATCH_SIZE or batch.size + size > MAX_MESSAGE_BYTES:
            batch.bytes_done = position()
            yield batch
            batch = Batch()
        batch.add(line, parsed, names, namer, size)
    if batch.lines:
        batch.bytes_done = position()
        yield batch


def _bounded_lines(file: IO[bytes]) -> Iterator[bytes | OverlongLine]:
    """The file's lines, except that a line over MAX_LINE_BYTES is read through in pieces and dropped."""
    while line := file.readline(MAX_LINE_BYTES + 1):
        if len(line) <= MAX_LINE_BYTES or line.endswith(b"\n"):
            yield line
            continue
        size = len(line)
        while not line.endswith(b"\n") and (line := file.readline(_SKIP_BYTES)):
            size += len(line)
        yield OverlongLine(size)


def summary(report: Report) -> str:
    """The lines printed at the end: counts, then each rejected line with its reason, in file order."""
    rejected = sorted([*report.local, *report.server])
    updated = report.imported - report.created
    lines = [
        f"imported: {report.imported} (created: {report.created}, updated: {updated})",
        f"rejected: {report.rejected}",
    ]
    lines += [f"  line {line}: {reason}" for line, reason in rejected]
    unlisted = report.rejected - len(rejected)
    if unlisted:
        lines.append(f"  ... and {unlisted} more rejected lines not listed")
    return "\n".join(lines)


@contextlib.contextmanager
def _batches_of(path: Path, fmt: str, report: Report) -> Iterator[tuple[Iterator[Batch], int]]:
    """The file's batches, read lazily, and the file's size."""
    try:
        file = path.open("rb")
    except OSError as error:
        raise ImportFailed(f"cannot read {path}: {error.strerror}") from None
    with file:
        size = path.stat().st_size
        rows = csv_rows(file) if fmt == "csv" else jsonl_rows(_bounded_lines(file))
        yield _batches(rows, report, file.tell), size


async def _store(
    batches: Iterator[Batch],
    stub: profiles_pb2_grpc.ProfileServiceStub,
    api_key: str,
    report: Report,
    progress: Progress,
) -> None:
    """Send the batches, up to CALLS_IN_FLIGHT at once, and take their answers in the file's order."""
    metadata = (("authorization", f"Bearer {api_key}"),)
    in_flight: deque[tuple[Batch, asyncio.Future[profiles_pb2.ImportProfilesResponse]]] = deque()

    async def answer() -> None:
        batch, call = in_flight.popleft()
        reply = await call
        if reply.imported + reply.rejected != len(batch.lines):
            raise ImportFailed(
                "the server stored nothing of the file's lines: it is older than this command (it does not"
                " read ImportProfilesRequest.jsonl_lines); upgrade it, or import with the command of its"
                f" version ({report.imported} profiles stored before)"
            )
        report.add(batch, reply)
        progress.stored(reply.imported, report.rejected, batch.bytes_done)

    try:
        for batch in batches:
            while in_flight and (
                len(in_flight) >= CALLS_IN_FLIGHT or any(batch.waits_for(other) for other, _ in in_flight)
            ):
                await answer()
            in_flight.append(
                (batch, asyncio.ensure_future(stub.ImportProfiles([batch.message()], metadata=metadata)))
            )
            await asyncio.sleep(0)
        while in_flight:
            await answer()
    except grpc.aio.AioRpcError as error:
        raise ImportFailed(
            f"the server stopped the import: {error.code().name}: {error.details()}"
            f" ({report.imported} profiles stored before; importing the file again is safe)"
        ) from None
    finally:
        for _, call in in_flight:
            call.cancel()


async def run_import(
    path: str | Path,
    api_key: str,
    address: str,
    fmt: str | None,
    credentials: grpc.ChannelCredentials | None = None,
) -> int:
    """Import the file; prints the summary (stdout) or the fatal error (stderr); returns the exit status.
    ``credentials``: TLS to the kernel (None: plaintext)."""
    path = Path(path)
    report = Report()
    try:
        with _batches_of(path, detect_format(path, fmt), report) as (batches, size):
            progress = Progress(path.name, size)
            finished = False
            try:
                async with (
                    grpc.aio.insecure_channel(address)
                    if credentials is None
                    else grpc.aio.secure_channel(address, credentials)
                ) as channel:
                    await _store(
                        batches, profiles_pb2_grpc.ProfileServiceStub(channel), api_key, report, progress
                    )
                finished = True
            finally:
                progress.close(finished)
    except ImportFailed as error:
        print(f"herald import: {error}", file=sys.stderr)
        return 2
    print(summary(report))
    return 1 if report.rejected else 0
