"""HPACK (RFC 7541) for the APNs HTTP/2 endpoints, built for one connection's repeated headers.

The ``hpack`` library encodes and decodes every field through several Python calls and objects; here
the common cases are a dictionary lookup each:

- :class:`Encoder` remembers the representation of every field it has emitted, valid as long as the
  dynamic table does not change. An APNs client's requests differ in ``:path`` and ``apns-id`` only
  (sent as literals without indexing), so after the first request the table stops changing and a
  header block is a join of cached bytes; the fields every request repeats can be given as a run (a
  tuple of fields), whose whole representation is one cached piece. Strings are never Huffman-coded
  (RFC 7541 allows either; the few bytes Huffman saves cost more CPU than they save).
- :class:`Decoder` implements the whole of section 6 (indexed fields, literals with and without
  indexing, never-indexed literals, dynamic table size updates) and decodes Huffman strings with the
  ``hpack`` library's table-driven decoder. Indexed fields reuse the table's own tuples.

Any malformed block raises :class:`HpackError`, a COMPRESSION_ERROR for the connection: after it the
two tables can no longer be trusted to agree.
"""

from __future__ import annotations

from collections.abc import Iterable

from hpack.exceptions import HPACKDecodingError
from hpack.huffman_table import decode_huffman
from hpack.table import HeaderTable

from plugins.apns.framer import string_literal

Header = tuple[bytes, bytes]
#: Fields (one or more) that follow each other unchanged in many header lists: encoded as one piece
#: (see Encoder.encode).
Run = tuple[Header, ...]

#: RFC 7541 Appendix A; index 1 is STATIC_TABLE[0].
STATIC_TABLE: tuple[Header, ...] = tuple(HeaderTable.STATIC_TABLE)
_STATIC_LENGTH = len(STATIC_TABLE)
#: The table size both sides start with (SETTINGS_HEADER_TABLE_SIZE's default).
DEFAULT_TABLE_SIZE = 4096
#: RFC 7541 4.1: an entry's size is its name's and value's lengths plus 32.
ENTRY_OVERHEAD = 32
#: Runs whose representation an encoder keeps; more (a caller making new ones) start the collection again.
MAX_RUNS = 64
#: Integers above this (2**28 and more) are refused: no legitimate length or index comes near it.
_MAX_INTEGER_SHIFT = 28

_STATIC_FIELDS: dict[Header, int] = {}
_STATIC_NAMES: dict[bytes, int] = {}
for _index, _field in enumerate(STATIC_TABLE, start=1):
    _STATIC_FIELDS.setdefault(_field, _index)
    _STATIC_NAMES.setdefault(_field[0], _index)


class HpackError(Exception):
    """A header block that cannot be decoded (COMPRESSION_ERROR)."""


def encode_integer(value: int, prefix_bits: int, first: int) -> bytes:
    """RFC 7541 5.1: ``value`` in an N-bit prefix, ``first`` holding the bits above the prefix."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes((first | value,))
    out = bytearray((first | limit,))
    value -= limit
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


class Encoder:
    """Encodes header lists for one connection's direction.

    Fields named in ``unindexed`` (values that change with every request, such as a request path)
    are sent as literals without indexing, so that they do not push the repeated fields out of the
    table; every other field is added to the dynamic table the first time it is sent.
    """

    def __init__(self, unindexed: Iterable[bytes] = ()) -> None:
        self._unindexed = frozenset(unindexed)
        self._max_size = DEFAULT_TABLE_SIZE  # the size this encoder uses
        self._smallest: int | None = None  # the smallest size since the last block, if it changed
        self._size = 0
        self._entries: list[Header] = []  # oldest first
        self._evicted = 0  # entries dropped from the front: _entries[i] was inserted as number _evicted + i
        self._fields: dict[Header, int] = {}  # field -> its latest insertion number
        self._names: dict[bytes, int] = {}  # name -> the latest insertion number of an entry with that name
        # Representations computed against the current table; cleared whenever the table changes.
        self._cached: dict[Header, bytes] = {}
        self._prefixes: dict[bytes, bytes] = {}  # unindexed name -> its literal's first bytes
        # id(run) -> the run (kept alive: its id stays its own) and its representation.
        self._runs: dict[int, tuple[Run, bytes]] = {}
        self._changes = 0  # how many times the table changed: a run encoded across a change is not cached
        # (id(head), id(shared), with apns-id) -> the runs (kept alive) and request_pieces' answer.
        self._pieces: dict[tuple[int, int, bool], tuple[Run, Run, tuple[bytes, bytes]]] = {}

    def set_table_limit(self, limit: int) -> None:
        """The peer's SETTINGS_HEADER_TABLE_SIZE: the table is kept at ``min(limit, 4096)``."""
        size = min(limit, DEFAULT_TABLE_SIZE)
        if size != self._max_size:
            self._max_size = size
            self._evict(0)
            self._changed()  # a field too large for the old size may be indexed now
            # RFC 7541 4.2: the smallest size reached before the next block is announced, then the last.
            self._smallest = size if self._smallest is None else min(self._smallest, size)

    def encode(self, headers: Iterable[Header | Run]) -> bytes:
        """A header block. An item may be a run of fields (a tuple of them): the same run object given
        again is sent from its cached representation while the table has not changed."""
        parts: list[bytes] = []
        if self._smallest is not None:
            if self._smallest < self._max_size:
                parts.append(encode_integer(self._smallest, 5, 0x20))
            parts.append(encode_integer(self._max_size, 5, 0x20))
            self._smallest = None
        cached = self._cached
        unindexed = self._unindexed
        runs = self._runs
        for field in headers:
            name = field[0]
            if type(name) is tuple:  # a run
                known = runs.get(id(field))
                if known is not None and known[0] is field:
                    parts.append(known[1])
                else:
                    parts.append(self._encode_run(field))  # type: ignore[arg-type]
                continue
            if name in unindexed:
                prefix = self._prefixes.get(name)
                if prefix is None:
                    prefix = self._prefixes[name] = self._literal_prefix(name, 4, 0x00)
                parts.append(prefix)
                parts.append(string_literal(field[1]))
                continue
            representation = cached.get(field)
            if representation is None:
                representation = self._encode_field(field)
            parts.append(representation)
        return b"".join(parts)

    def request_pieces(self, head: Run, shared: Run, with_id: bool) -> tuple[bytes, bytes] | None:
        """What surrounds a push's ``:path`` and ``apns-id`` literals in the block ``encode`` would make
        of ``(head, (":path", ...), shared[, ("apns-id", ...)])``: the bytes before the path's value and
        those between it and the id's value. None until both runs and both names were encoded against
        the table as it is (or while a table size update is due): then ``encode`` is needed."""
        key = (id(head), id(shared), with_id)
        known = self._pieces.get(key)
        if known is not None and known[0] is head and known[1] is shared:
            return known[2]
        runs = self._runs
        head_known = runs.get(id(head))
        shared_known = runs.get(id(shared))
        path_prefix = self._prefixes.get(b":path")
        id_prefix = self._prefixes.get(b"apns-id") if with_id else b""
        if (
            self._smallest is not None
            or head_known is None
            or head_known[0] is not head
            or shared_known is None
            or shared_known[0] is not shared
            or path_prefix is None
            or id_prefix is None
        ):
            return None
        pieces = (head_known[1] + path_prefix, shared_known[1] + id_prefix)
        if len(self._pieces) >= MAX_RUNS:
            self._pieces.clear()
        self._pieces[key] = (head, shared, pieces)
        return pieces

    def _encode_run(self, run: Run) -> bytes:
        changes = self._changes
        representation = self.encode(run)
        if changes == self._changes:  # each field's representation is what it will be next time
            if len(self._runs) >= MAX_RUNS:
                self._runs.clear()
            self._runs[id(run)] = (run, representation)
        return representation

    def _encode_field(self, field: Header) -> bytes:
        index = _STATIC_FIELDS.get(field) or self._dynamic_index(self._fields.get(field))
        if index:
            representation = encode_integer(index, 7, 0x80)
            self._cached[field] = representation
            return representation
        name, value = field
        if len(name) + len(value) + ENTRY_OVERHEAD > self._max_size:
            # It would empty the table and not fit anyway: a literal without indexing.
            return self._literal_prefix(name, 4, 0x00) + string_literal(value)
        representation = self._literal_prefix(name, 6, 0x40) + string_literal(value)
        self._insert(field)
        return representation

    def _literal_prefix(self, name: bytes, prefix_bits: int, first: int) -> bytes:
        """A literal's first bytes: the name's index, or a zero index and the name as a string."""
        index = _STATIC_NAMES.get(name) or self._dynamic_index(self._names.get(name))
        if index:
            return encode_integer(index, prefix_bits, first)
        return bytes((first,)) + string_literal(name)

    def _dynamic_index(self, number: int | None) -> int:
        """The current index of the entry inserted as ``number``, 0 if it is gone."""
        if number is None or number < self._evicted:
            return 0
        return _STATIC_LENGTH + self._evicted + len(self._entries) - number

    def _insert(self, field: Header) -> None:
        size = len(field[0]) + len(field[1]) + ENTRY_OVERHEAD
        self._evict(size)
        number = self._evicted + len(self._entries)
        self._entries.append(field)
        self._size += size
        self._fields[field] = number
        self._names[field[0]] = number
        self._changed()

    def _evict(self, room: int) -> None:
        """Drop the oldest entries until ``room`` more bytes fit."""
        while self._entries and self._size + room > self._max_size:
            name, value = field = self._entries.pop(0)
            number = self._evicted
            self._evicted += 1
            self._size -= len(name) + len(value) + ENTRY_OVERHEAD
            if self._fields.get(field) == number:
                del self._fields[field]
            if self._names.get(name) == number:
                del self._names[name]
            self._changed()

    def _changed(self) -> None:
        """The table changed: the representations computed against it may be wrong now."""
        self._changes += 1
        self._cached.clear()
        self._prefixes.clear()
        self._runs.clear()
        self._pieces.clear()


class Decoder:
    """Decodes the header blocks of one connection's direction.

    ``max_table_size`` is the SETTINGS_HEADER_TABLE_SIZE this side advertised: the peer may size its
    table anywhere up to it.
    """

    def __init__(self, max_table_size: int = DEFAULT_TABLE_SIZE) -> None:
        self._allowed = max_table_size
        self._max_size = max_table_size
        self._size = 0
        self._entries: list[Header] = []  # newest last: index 62 is _entries[-1]
        #: Size of the last decoded header list per RFC 9113 6.5.2 (names, values and 32 per field).
        self.list_size = 0

    def decode(self, block: bytes) -> list[Header]:
        headers: list[Header] = []
        append = headers.append
        entries = self._entries
        end = len(block)
        pos = 0
        list_size = 0
        try:
            while pos < end:
                byte = block[pos]
                if byte & 0x80:  # 6.1 indexed field
                    index = byte & 0x7F
                    pos += 1
                    if index == 0x7F:
                        index, pos = _integer(block, pos, 0x7F)
                    if 0 < index <= _STATIC_LENGTH:
                        field = STATIC_TABLE[index - 1]
                    elif _STATIC_LENGTH < index <= _STATIC_LENGTH + len(entries):
                        field = entries[_STATIC_LENGTH - index]
                    else:
                        raise HpackError(f"no table entry {index}")
                elif byte & 0x40:  # 6.2.1 literal with incremental indexing
                    field, pos = self._literal(block, pos, 0x3F)
                    self._insert(field)
                elif byte & 0x20:  # 6.3 dynamic table size update
                    if headers:
                        raise HpackError("table size update after the first field")
                    size, pos = (
                        _integer(block, pos + 1, 0x1F) if byte & 0x1F == 0x1F else (byte & 0x1F, pos + 1)
                    )
                    if size > self._allowed:
                        raise HpackError(f"table size {size} above the advertised {self._allowed}")
                    self._max_size = size
                    self._evict(0)
                    continue
                else:  # 6.2.2 literal without indexing, 6.2.3 never indexed
                    field, pos = self._literal(block, pos, 0x0F)
                append(field)
                list_size += len(field[0]) + len(field[1]) + ENTRY_OVERHEAD
        except IndexError:
            raise HpackError("truncated header block") from None
        self.list_size = list_size
        return headers

    def _literal(self, block: bytes, pos: int, prefix: int) -> tuple[Header, int]:
        index = block[pos] & prefix
        pos += 1
        if index == prefix:
            index, pos = _integer(block, pos, prefix)
        if index:
            entries = self._entries
            if index <= _STATIC_LENGTH:
                name = STATIC_TABLE[index - 1][0]
            elif index <= _STATIC_LENGTH + len(entries):
                name = entries[_STATIC_LENGTH - index][0]
            else:
                raise HpackError(f"no table entry {index}")
        else:
            name, pos = _read_string(block, pos)
        value, pos = _read_string(block, pos)
        return (name, value), pos

    def _insert(self, field: Header) -> None:
        size = len(field[0]) + len(field[1]) + ENTRY_OVERHEAD
        if size > self._max_size:  # RFC 7541 4.4: the table is emptied and the entry not added
            self._entries.clear()
            self._size = 0
            return
        self._evict(size)
        self._entries.append(field)
        self._size += size

    def _evict(self, room: int) -> None:
        entries = self._entries
        while entries and self._size + room > self._max_size:
            name, value = entries.pop(0)
            self._size -= len(name) + len(value) + ENTRY_OVERHEAD


def _integer(block: bytes, pos: int, value: int) -> tuple[int, int]:
    """RFC 7541 5.1: the continuation bytes of an integer whose prefix was full (``value``)."""
    shift = 0
    while True:
        byte = block[pos]
        pos += 1
        value += (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > _MAX_INTEGER_SHIFT:
            raise HpackError("integer too large")


def _read_string(block: bytes, pos: int) -> tuple[bytes, int]:
    byte = block[pos]
    length = byte & 0x7F
    pos += 1
    if length == 0x7F:
        length, pos = _integer(block, pos, 0x7F)
    end = pos + length
    if end > len(block):
        raise HpackError("string beyond the end of the header block")
    if not byte & 0x80:
        return block[pos:end], end
    try:
        return decode_huffman(block[pos:end]), end
    except HPACKDecodingError as exc:
        raise HpackError(str(exc)) from None
