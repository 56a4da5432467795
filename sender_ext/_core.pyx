# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The compiled sender core: ``_core_py`` (read its docstring for the rules) in C, result for result.

Where the speed comes from: addresses and folded keys are read in place (an ASCII str's characters are
its UTF-8; others get their UTF-8 form cached on the str by CPython), so comparing neighbours and
finding a domain's bucket create no Python object per row; each loop prefetches the str a few rows
ahead (scattered str objects are what the loops wait for); results are written straight into
``bytearray`` and ``array`` buffers; a substituted str value is scanned in C and passed on as it is
unless Liquid would print it otherwise. ``HERALD_CYTHON_ANNOTATE=1`` at build time writes
``_core.html`` to check that the per-row loops stay free of Python calls.

Floats are computed with the twin's operations in the twin's order, in doubles; setup.py turns off FMA
contraction so the compiler cannot fuse them.
"""

from cpython cimport array
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_FromStringAndSize
from cpython.bytes cimport PyBytes_AS_STRING
from cpython.dict cimport PyDict_SetItem
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.ref cimport Py_INCREF, PyObject
from cpython.sequence cimport PySequence_Fast, PySequence_GetItem
from libc.math cimport INFINITY
from libc.stdint cimport int32_t, int64_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memcmp, memset

from sender_ext._checks import (
    address_type_error,
    as_count,
    as_i32,
    as_rows,
    as_share,
    as_sizes,
    as_substitutions,
    as_time,
    as_u8,
    check_rows,
    key_type_error,
)
from sender_ext._text import liquid_text
from sender_ext.types import Admission, Batches, BatchPlan, Pace, SlowDown


cdef extern from "Python.h":
    bint PyUnicode_Check(PyObject* text)
    bint PyUnicode_CheckExact(PyObject* text)
    int PyUnicode_READY(PyObject* text) except -1
    int PyUnicode_KIND(PyObject* text)
    int PyUnicode_1BYTE_KIND
    Py_UCS4 PyUnicode_READ(int kind, const void* data, Py_ssize_t index)
    bint PyUnicode_IS_COMPACT_ASCII(PyObject* text)
    void* PyUnicode_DATA(PyObject* text)
    Py_ssize_t PyUnicode_GET_LENGTH(PyObject* text)
    PyObject** PySequence_Fast_ITEMS(object seq)
    long PyLong_AsLong(PyObject* number) except? -1
    const char* PyUnicode_AsUTF8AndSize(PyObject* text, Py_ssize_t* size) except NULL
    object PyUnicode_DecodeUTF8(const char* data, Py_ssize_t size, const char* errors)

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define HERALD_PREFETCH(address) __builtin_prefetch(address)
    #else
    #define HERALD_PREFETCH(address) ((void)0)
    #endif
    /* Row `row + 16`'s str: its header and first characters, the two cache lines reading it touches.
       Scattered str objects are the per-row loops' main cost. A macro, not a cdef method: GCC dropped
       the prefetch of an inlined Cython method. */
    #define HERALD_ROWS_AHEAD 16
    #define HERALD_PREFETCH_ROW(items, row, count) do { \
        if ((row) + HERALD_ROWS_AHEAD < (count)) { \
            const char* text_ = (const char*)(items)[(row) + HERALD_ROWS_AHEAD]; \
            HERALD_PREFETCH(text_); \
            HERALD_PREFETCH(text_ + 64); \
        } \
    } while (0)
    """
    void HERALD_PREFETCH_ROW(PyObject** items, Py_ssize_t row, Py_ssize_t count) nogil


cdef enum:
    # The address forms of sender_ext.types.AddressForm; any other byte is VERBATIM.
    MAILBOX = 1
# Slot counts are capped at 2**53, as in the twin.
cdef double MAX_SLOTS = 9007199254740992.0

cdef array.array _INT64 = array.array("q")
cdef array.array _DOUBLE = array.array("d")
cdef array.array _INT32 = array.array("i")
cdef unsigned char _LOWER[256]
for _code in range(256):
    _LOWER[_code] = _code + 32 if 65 <= _code <= 90 else _code


# ---------------------------------------------------------------------------------------------------
# Reading addresses in place
# ---------------------------------------------------------------------------------------------------

cdef struct Text:
    # The trimmed UTF-8 characters of an address, borrowed from its str.
    const unsigned char* data
    Py_ssize_t size
    Py_ssize_t full_size


cdef inline bint _is_space(unsigned char c) noexcept nogil:
    return c == 32 or 9 <= c <= 13


cdef inline int _read(PyObject* address, Text* text) except -1:
    """Borrow the address's UTF-8 characters, trimmed of ASCII whitespace."""
    cdef Py_ssize_t size
    cdef const unsigned char* data
    if not PyUnicode_Check(address):
        raise address_type_error(<object>address)
    if PyUnicode_IS_COMPACT_ASCII(address):  # the usual case: the characters are the UTF-8
        data = <const unsigned char*>PyUnicode_DATA(address)
        size = PyUnicode_GET_LENGTH(address)
    else:
        data = <const unsigned char*>PyUnicode_AsUTF8AndSize(address, &size)
    text.full_size = size
    while size > 0 and _is_space(data[size - 1]):
        size -= 1
    while size > 0 and _is_space(data[0]):
        data += 1
        size -= 1
    text.data = data
    text.size = size
    return 0


cdef inline Py_ssize_t _last_at(const unsigned char* data, Py_ssize_t size) noexcept nogil:
    """Index of the last ``@``, or -1."""
    cdef Py_ssize_t index = size - 1
    while index >= 0 and data[index] != 64:
        index -= 1
    return index


cdef inline void _fold(unsigned char* target, const unsigned char* data, Py_ssize_t size) noexcept nogil:
    cdef Py_ssize_t index
    for index in range(size):
        target[index] = _LOWER[data[index]]


cdef class _Scratch:
    """A growable byte buffer, reused so that lower-casing a domain allocates nothing per call.

    One for the module: every function that uses it holds the GIL throughout.
    """

    cdef unsigned char* data
    cdef Py_ssize_t capacity

    def __dealloc__(self):
        free(self.data)

    cdef unsigned char* fit(self, Py_ssize_t size) except NULL:
        cdef unsigned char* grown
        if size > self.capacity or self.data == NULL:
            grown = <unsigned char*>realloc(self.data, max(size, 2 * self.capacity, 256))
            if grown == NULL:
                raise MemoryError()
            self.data = grown
            self.capacity = max(size, 2 * self.capacity, 256)
        return self.data


cdef _Scratch _scratch = _Scratch()


cdef inline const unsigned char* _bytes_of(object column):
    """The bytes of a column ``as_u8`` returned (bytes or bytearray), NULL for None (no mask); the caller
    keeps it alive."""
    if column is None:
        return NULL
    if isinstance(column, bytearray):
        return <const unsigned char*>PyByteArray_AS_STRING(column)
    return <const unsigned char*>PyBytes_AS_STRING(column)


cdef class _Batch:
    """A batch's addresses and kinds columns, checked once; the C views stay valid while it lives."""

    cdef object rows  # a list or tuple (PySequence_Fast), owning the str objects
    cdef object kinds_column  # bytes or bytearray, owning the kind bytes
    cdef PyObject** items
    cdef const unsigned char* kinds
    cdef Py_ssize_t count

    def __cinit__(self, kinds, addresses, name="kinds"):
        self.rows = PySequence_Fast(addresses, "addresses: must be a sequence of str")
        self.count = len(self.rows)
        self.kinds_column = as_u8(kinds, self.count, name)
        self.kinds = _bytes_of(self.kinds_column)
        self.items = PySequence_Fast_ITEMS(self.rows)


cdef array.array _channel_ids(object channels):
    """``as_i32``, but a list or tuple is read in C: ``array("i", list)`` costs 30 ns an item."""
    if not isinstance(channels, (list, tuple)):
        return as_i32(channels)
    cdef Py_ssize_t count = len(channels)
    cdef array.array ids = array.clone(_INT32, count, False)
    cdef PyObject** items = PySequence_Fast_ITEMS(channels)
    cdef Py_ssize_t row
    cdef long value
    for row in range(count):
        value = PyLong_AsLong(items[row])
        if value < -2147483648 or value > 2147483647:
            raise OverflowError("signed integer is greater than maximum" if value > 0
                                else "signed integer is less than minimum")
        ids.data.as_ints[row] = <int>value
    return ids


cdef inline object _new_text(const unsigned char* data, Py_ssize_t size):
    return PyUnicode_DecodeUTF8(<const char*>data, size, NULL)


def email_domain(address):
    """The lower-cased domain of an email address: after its last ``@``, empty when it has none."""
    cdef Text text
    _read(<PyObject*>address, &text)
    cdef Py_ssize_t at = _last_at(text.data, text.size)
    if at < 0:
        return ""
    cdef Py_ssize_t size = text.size - at - 1
    cdef unsigned char* target = _scratch.fit(size)
    _fold(target, text.data + at + 1, size)
    return _new_text(target, size)


# ---------------------------------------------------------------------------------------------------
# Domain throttle
# ---------------------------------------------------------------------------------------------------

cdef inline uint64_t _fmix(uint64_t key) noexcept nogil:
    """MurmurHash3's finaliser (Austin Appleby, public domain): spreads a hash over all its bits."""
    key ^= key >> 33
    key *= 0xff51afd7ed558ccdULL
    key ^= key >> 33
    key *= 0xc4ceb9fe1a85ec53ULL
    key ^= key >> 33
    return key


cdef inline uint64_t _domain_hash(const unsigned char* data, Py_ssize_t size) noexcept nogil:
    """FNV-1a over the lower-cased bytes (domains are short), finished with Murmur's mixer."""
    cdef uint64_t hash_ = 0xcbf29ce484222325ULL
    cdef Py_ssize_t index
    for index in range(size):
        hash_ = (hash_ ^ _LOWER[data[index]]) * 0x100000001b3ULL
    return _fmix(hash_)


cdef struct Bucket:
    double rate
    double burst
    double tokens
    double last
    double multiplier
    double slowed_at
    int64_t epoch
    int64_t waiting
    uint64_t hash
    unsigned char* name  # lower-cased domain, owned
    Py_ssize_t name_size


cdef class Throttle:
    """Per-email-domain token buckets, scaled by this worker's share and slowed down on deferrals.

    The same model as the twin's ``Throttle`` (read its docstring); buckets live in a C array, found
    through an open-addressing index keyed by the domain's hash and checked against its bytes.
    """

    cdef Bucket* _buckets
    cdef Py_ssize_t _count
    cdef Py_ssize_t _capacity
    cdef int32_t* _index  # bucket number, or -1
    cdef uint64_t _index_mask
    cdef double _default_rate
    cdef double _default_burst
    cdef double _share
    cdef double _recovery
    cdef double _factor
    cdef double _floor
    cdef double _cooldown
    cdef int64_t _epoch

    def __init__(self, default, limits=None, policy=None):
        policy = policy or SlowDown()
        self._release()
        self._default_rate = default.per_second
        self._default_burst = default.burst
        self._recovery = 1.0 / policy.recovery_seconds
        self._factor = policy.factor
        self._floor = policy.floor
        self._cooldown = policy.cooldown_seconds
        self._share = 1.0
        self._epoch = 0
        self._grow_index(16)
        for domain, limit in (limits or {}).items():
            self.set_limit(domain, limit)

    def __dealloc__(self):
        self._release()

    cdef void _release(self) noexcept:
        cdef Py_ssize_t number
        for number in range(self._count):
            free(self._buckets[number].name)
        free(self._buckets)
        free(self._index)
        self._buckets = NULL
        self._index = NULL
        self._count = 0
        self._capacity = 0
        self._index_mask = 0

    @property
    def share(self):
        return self._share

    @share.setter
    def share(self, value):
        self._share = as_share(value)

    cdef int _grow_index(self, uint64_t capacity) except -1:
        cdef int32_t* index = <int32_t*>malloc(capacity * sizeof(int32_t))
        if index == NULL:
            raise MemoryError()
        memset(index, 0xFF, capacity * sizeof(int32_t))
        cdef uint64_t mask = capacity - 1
        cdef uint64_t slot
        cdef Py_ssize_t number
        for number in range(self._count):
            slot = self._buckets[number].hash & mask
            while index[slot] >= 0:
                slot = (slot + 1) & mask
            index[slot] = <int32_t>number
        free(self._index)
        self._index = index
        self._index_mask = mask
        return 0

    cdef Py_ssize_t _find(self, const unsigned char* domain, Py_ssize_t size, uint64_t hash_) noexcept nogil:
        """The bucket number of a (not yet lower-cased) domain, or -1."""
        cdef uint64_t slot = hash_ & self._index_mask
        cdef Bucket* bucket
        cdef Py_ssize_t index
        cdef bint same
        while self._index[slot] >= 0:
            bucket = &self._buckets[self._index[slot]]
            if bucket.hash == hash_ and bucket.name_size == size:
                same = True
                for index in range(size):
                    if bucket.name[index] != _LOWER[domain[index]]:
                        same = False
                        break
                if same:
                    return self._index[slot]
            slot = (slot + 1) & self._index_mask
        return -1

    cdef Py_ssize_t _bucket(self, const unsigned char* domain, Py_ssize_t size) except -1:
        """The bucket number of a domain, added with the default limit the first time it is met."""
        cdef uint64_t hash_ = _domain_hash(domain, size)
        cdef Bucket* grown
        cdef Py_ssize_t number = self._find(domain, size, hash_)
        if number >= 0:
            return number
        if self._count == self._capacity:
            grown = <Bucket*>realloc(self._buckets, max(16, 2 * self._capacity) * sizeof(Bucket))
            if grown == NULL:
                raise MemoryError()
            self._buckets = grown
            self._capacity = max(16, 2 * self._capacity)
        if (self._count + 1) * 2 > <Py_ssize_t>(self._index_mask + 1):
            self._grow_index(2 * (self._index_mask + 1))
        cdef Bucket* bucket = &self._buckets[self._count]
        bucket.name = <unsigned char*>malloc(size + 1)
        if bucket.name == NULL:
            raise MemoryError()
        _fold(bucket.name, domain, size)
        bucket.name_size = size
        bucket.hash = hash_
        bucket.rate = self._default_rate
        bucket.burst = self._default_burst
        # Empty and never refilled: the first refill (infinitely long ago) fills it to capacity.
        bucket.tokens = 0.0
        bucket.last = -INFINITY
        bucket.multiplier = 1.0
        bucket.slowed_at = -INFINITY
        bucket.epoch = -1
        bucket.waiting = 0
        number = self._count
        self._count += 1
        cdef uint64_t slot = hash_ & self._index_mask
        while self._index[slot] >= 0:
            slot = (slot + 1) & self._index_mask
        self._index[slot] = <int32_t>number
        return number

    cdef Py_ssize_t _named(self, domain, bint add) except -2:
        """The bucket of a domain given as a str (trimmed, case-insensitive); -1 if absent and not added."""
        cdef Text text
        _read(<PyObject*>domain, &text)
        if add:
            return self._bucket(text.data, text.size)
        return self._find(text.data, text.size, _domain_hash(text.data, text.size))

    cdef inline void _refill(self, Bucket* bucket, double now) noexcept nogil:
        """Add what the rate earned since the bucket's last refill, then let the multiplier recover."""
        cdef double elapsed = now - bucket.last if now > bucket.last else 0.0
        cdef double share = self._share
        cdef double multiplier = bucket.multiplier
        cdef double capacity = bucket.burst * share * multiplier
        if capacity < 1.0:
            capacity = 1.0
        cdef double tokens = bucket.tokens + elapsed * (bucket.rate * share * multiplier)
        bucket.tokens = tokens if tokens < capacity else capacity
        multiplier += elapsed * self._recovery
        bucket.multiplier = multiplier if multiplier < 1.0 else 1.0
        if now > bucket.last:
            bucket.last = now

    def set_limit(self, domain, limit):
        """Give ``domain`` its own limit (a warm-up step, an operator change); its state is kept."""
        cdef Bucket* bucket = &self._buckets[self._named(domain, True)]
        bucket.rate = limit.per_second
        bucket.burst = limit.burst

    def take_batch(self, kinds, addresses, now, live=None):
        """Admit a batch's email rows in order; other kinds pass, rows with ``live[i] == 0`` are skipped."""
        cdef _Batch batch = _Batch(kinds, addresses)
        cdef object live_column = None if live is None else as_u8(live, batch.count, "live")
        return self._admission(batch, _bytes_of(live_column), as_time(now))

    cdef object _admission(self, _Batch batch, const unsigned char* mask, double moment):
        """``take_batch`` once its inputs are checked: an ``Admission``."""
        cdef Py_ssize_t count = batch.count
        cdef int32_t* numbers = <int32_t*>malloc((count + 1) * sizeof(int32_t))
        if numbers == NULL:
            raise MemoryError()
        cdef Text text
        cdef Py_ssize_t row, at
        cdef bytearray go
        cdef array.array not_before
        try:
            # Find every row's bucket first (adding a bucket cannot be observed), so that a bad address
            # raises before any budget is spent.
            for row in range(count):
                HERALD_PREFETCH_ROW(batch.items, row, batch.count)
                numbers[row] = -1
                if batch.kinds[row] == MAILBOX:
                    _read(batch.items[row], &text)
                    if mask == NULL or mask[row]:
                        at = _last_at(text.data, text.size)
                        if at < 0:
                            numbers[row] = <int32_t>self._bucket(text.data, 0)
                        else:
                            numbers[row] = <int32_t>self._bucket(text.data + at + 1, text.size - at - 1)
            go = PyByteArray_FromStringAndSize(NULL, count)
            not_before = array.clone(_DOUBLE, count, False)
            self._epoch += 1
            self._admit(numbers, batch.kinds, mask, count, moment,
                        <unsigned char*>PyByteArray_AS_STRING(go), not_before.data.as_doubles)
        finally:
            free(numbers)
        return Admission(go, not_before)

    cdef void _admit(self, const int32_t* numbers, const unsigned char* column, const unsigned char* mask,
                     Py_ssize_t count, double now, unsigned char* go, double* not_before) noexcept nogil:
        cdef Py_ssize_t row
        cdef Bucket* bucket
        for row in range(count):
            go[row] = 0
            not_before[row] = now
            if mask != NULL and not mask[row]:
                continue
            if column[row] != MAILBOX:
                go[row] = 1
                continue
            bucket = &self._buckets[numbers[row]]
            if bucket.epoch != self._epoch:
                bucket.epoch = self._epoch
                bucket.waiting = 0
                self._refill(bucket, now)
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                go[row] = 1
            else:
                bucket.waiting += 1
                not_before[row] = now + (<double>bucket.waiting - bucket.tokens) / (
                    bucket.rate * self._share * bucket.multiplier
                )

    def slow_down(self, domain, now):
        """The provider deferred a message to ``domain`` (throttling): slow it; returns the multiplier."""
        cdef Bucket* bucket = &self._buckets[self._named(domain, True)]
        cdef double moment = as_time(now)
        self._refill(bucket, moment)
        cdef double slower
        if moment - bucket.slowed_at >= self._cooldown:
            slower = bucket.multiplier * self._factor
            bucket.multiplier = slower if slower > self._floor else self._floor
            bucket.slowed_at = moment
            bucket.tokens = 0.0
        return bucket.multiplier

    def multiplier(self, domain, now):
        """``domain``'s current slow-down multiplier (1.0: full speed), without changing any state."""
        cdef Py_ssize_t number = self._named(domain, False)
        if number < 0:
            return 1.0
        cdef Bucket* bucket = &self._buckets[number]
        cdef double moment = as_time(now)
        cdef double multiplier = bucket.multiplier + (
            moment - bucket.last if moment > bucket.last else 0.0
        ) * self._recovery
        return multiplier if multiplier < 1.0 else 1.0


# ---------------------------------------------------------------------------------------------------
# Wave pacing
# ---------------------------------------------------------------------------------------------------

cdef class Pacer:
    """A wave spread evenly from ``start``; the same model as the twin's ``Pacer`` (read its docstring)."""

    cdef double _interval
    cdef int64_t _burst
    cdef double _start

    def __init__(self, rate, start):
        self._interval = rate.interval
        self._burst = max(1, int(rate.burst))
        self._start = as_time(start, "start")

    @property
    def start(self):
        return self._start

    def plan(self, now, sent):
        """How many may go at ``now`` when ``sent`` messages of the wave went already."""
        cdef double moment = as_time(now)
        cdef int64_t done = as_count(sent, "sent")
        cdef double offset = moment - self._start
        cdef double slots
        cdef int64_t due
        if offset < 0.0:
            due = 0
        else:
            slots = offset / self._interval
            due = <int64_t>(MAX_SLOTS if slots >= MAX_SLOTS else slots) + 1
        if due - done > self._burst:
            self._start = moment - <double>(done + self._burst - 1) * self._interval
            due = done + self._burst
        cdef int64_t count = due - done if due > done else 0
        return Pace(count, self._start + <double>(done + count) * self._interval)


# ---------------------------------------------------------------------------------------------------
# Provider batches
# ---------------------------------------------------------------------------------------------------

def group_batches(channels, max_sizes, live=None):
    """Cut the live rows into provider batches: one channel per batch, at most ``max_sizes[channel]``."""
    cdef array.array column = _channel_ids(channels)
    cdef array.array sizes = as_sizes(max_sizes)
    cdef object live_column = None if live is None else as_u8(live, len(column), "live")
    _check_channels(column, sizes)
    return _grouped(column, sizes, _bytes_of(live_column))


cdef int _check_channels(array.array column, array.array sizes) except -1:
    """Every row's channel id has a maximum batch size (the twin's ``check_channels``)."""
    cdef Py_ssize_t row
    cdef int channel
    for row in range(len(column)):
        channel = column.data.as_ints[row]
        if channel < 0 or channel >= len(sizes):
            raise ValueError(f"channels[{row}]: no max batch size for channel {channel}")
    return 0


cdef object _grouped(array.array channels, array.array max_sizes, const unsigned char* mask):
    """``group_batches`` once its inputs are checked: ``Batches``."""
    cdef const int* column = channels.data.as_ints
    cdef const long long* sizes = max_sizes.data.as_longlongs
    cdef Py_ssize_t count = len(channels)
    cdef Py_ssize_t channel_count = len(max_sizes)
    # Per channel: live rows, where its rows start in the output; channels in order of first row.
    cdef int64_t* members = <int64_t*>calloc(channel_count + 1, sizeof(int64_t))
    cdef int64_t* fill = <int64_t*>malloc((channel_count + 1) * sizeof(int64_t))
    cdef int32_t* order = <int32_t*>malloc((channel_count + 1) * sizeof(int32_t))
    if members == NULL or fill == NULL or order == NULL:
        free(members)
        free(fill)
        free(order)
        raise MemoryError()
    cdef Py_ssize_t row, used = 0, total = 0, batch_count = 0, rank, batch = 0
    cdef int channel
    cdef int64_t start, size, cut
    cdef array.array rows, batch_channels, offsets
    try:
        for row in range(count):
            channel = column[row]
            if mask == NULL or mask[row]:
                if members[channel] == 0:
                    order[used] = channel
                    used += 1
                members[channel] += 1
        for rank in range(used):
            channel = order[rank]
            fill[channel] = total
            total += members[channel]
            batch_count += (members[channel] + sizes[channel] - 1) // sizes[channel]
        rows = array.clone(_INT64, total, False)
        batch_channels = array.clone(_INT32, batch_count, False)
        offsets = array.clone(_INT64, batch_count + 1, False)
        _place(column, mask, count, fill, rows.data.as_longlongs)
        offsets.data.as_longlongs[0] = 0
        for rank in range(used):
            channel = order[rank]
            start = fill[channel] - members[channel]
            size = sizes[channel]
            cut = 0
            while cut < members[channel]:
                cut = min(cut + size, members[channel])
                batch_channels.data.as_ints[batch] = channel
                offsets.data.as_longlongs[batch + 1] = start + cut
                batch += 1
    finally:
        free(members)
        free(fill)
        free(order)
    return Batches(batch_channels, offsets, rows)


cdef void _place(const int* column, const unsigned char* mask, Py_ssize_t count, int64_t* fill,
                 long long* rows) noexcept nogil:
    """Write each live row at its channel's next place (``fill`` ends at each channel's end)."""
    cdef Py_ssize_t row
    cdef int channel
    for row in range(count):
        if mask == NULL or mask[row]:
            channel = column[row]
            rows[fill[channel]] = row
            fill[channel] += 1


# ---------------------------------------------------------------------------------------------------
# A claimed batch
# ---------------------------------------------------------------------------------------------------

cdef inline bint _same_text(PyObject* one, PyObject* other) noexcept:
    """Two ready str are equal: same length, same width, same characters."""
    if one == other:
        return True
    cdef Py_ssize_t size = PyUnicode_GET_LENGTH(one)
    cdef int kind = PyUnicode_KIND(one)
    if size != PyUnicode_GET_LENGTH(other) or kind != PyUnicode_KIND(other):
        return False
    return memcmp(PyUnicode_DATA(one), PyUnicode_DATA(other), size * kind) == 0


def plan_batch(keys, addresses, channels, forms, live, throttle, now, max_sizes):
    """The per-recipient work of a claimed batch (read the twin's docstring): a ``BatchPlan``."""
    if not isinstance(throttle, Throttle):
        raise TypeError(f"throttle: must be this core's Throttle, got {type(throttle).__name__}")
    cdef _Batch batch = _Batch(forms, addresses, "forms")
    cdef Py_ssize_t count = batch.count
    cdef object folded = as_rows(keys)
    check_rows(folded, count, "keys")
    cdef array.array column = _channel_ids(channels)
    check_rows(column, count, "channels")
    cdef array.array sizes = as_sizes(max_sizes)
    _check_channels(column, sizes)
    cdef object live_column = None if live is None else as_u8(live, count, "live")
    cdef const unsigned char* mask = _bytes_of(live_column)
    cdef bytearray unique = PyByteArray_FromStringAndSize(NULL, count)
    cdef unsigned char* marks = <unsigned char*>PyByteArray_AS_STRING(unique)
    _mark_unique(PySequence_Fast_ITEMS(folded), column.data.as_ints, count, marks)
    cdef double moment = as_time(now)
    cdef bytearray wanted = unique
    cdef Py_ssize_t row
    if mask != NULL:
        wanted = PyByteArray_FromStringAndSize(NULL, count)
        for row in range(count):
            PyByteArray_AS_STRING(wanted)[row] = marks[row] if mask[row] else 0
    go, not_before = (<Throttle>throttle)._admission(batch, <unsigned char*>PyByteArray_AS_STRING(wanted), moment)
    return BatchPlan(unique, go, not_before, _grouped(column, sizes, <unsigned char*>PyByteArray_AS_STRING(go)))


cdef int _mark_unique(PyObject** keys, const int* channels, Py_ssize_t count, unsigned char* marks) except -1:
    """1 for the first row of each run of equal (channel, key), 0 for the rows repeating it."""
    cdef Py_ssize_t row
    for row in range(count):
        HERALD_PREFETCH_ROW(keys, row, count)
        if not PyUnicode_Check(keys[row]):
            raise key_type_error(row, <object>keys[row])
        PyUnicode_READY(keys[row])
        marks[row] = row == 0 or channels[row] != channels[row - 1] or not _same_text(keys[row], keys[row - 1])
    return 0


# ---------------------------------------------------------------------------------------------------
# Substituted values
# ---------------------------------------------------------------------------------------------------

cdef enum:
    # What Liquid rewrites in a printed str: a CR anywhere, HTML's characters in the html field.
    REWRITES_CR = 1
    REWRITES_HTML = 2

cdef unsigned char _REWRITTEN[128]
memset(_REWRITTEN, 0, 128)
_REWRITTEN[13] = REWRITES_CR
for _code in (38, 60, 62, 39, 34):  # & < > ' "
    _REWRITTEN[_code] = REWRITES_HTML


cdef struct Column:
    PyObject* name  # borrowed from the checked Substitution
    PyObject* render  # borrowed likewise
    Py_ssize_t index
    unsigned char rewrites  # REWRITES_CR, with REWRITES_HTML in the html field


cdef inline bint _rewritten(PyObject* text, unsigned char rewrites) noexcept:
    """Whether Liquid prints the str otherwise than as it is (then ``liquid_text`` does it)."""
    cdef int kind = PyUnicode_KIND(text)
    cdef const void* data = PyUnicode_DATA(text)
    cdef Py_ssize_t index, size = PyUnicode_GET_LENGTH(text)
    cdef const unsigned char* narrow = <const unsigned char*>data
    cdef Py_UCS4 code
    if kind == PyUnicode_1BYTE_KIND:
        for index in range(size):
            if narrow[index] < 128 and _REWRITTEN[narrow[index]] & rewrites:
                return True
        return False
    for index in range(size):
        code = PyUnicode_READ(kind, data, index)
        if code < 128 and _REWRITTEN[code] & rewrites:
            return True
    return False


def substitution_rows(columns, rows):
    """Each recipient's substituted values from its row (read the twin's docstring)."""
    cdef tuple checked = as_substitutions(columns)
    cdef object recipients = as_rows(rows)
    cdef Py_ssize_t width = len(checked)
    cdef Py_ssize_t count = len(recipients)
    cdef Column* specs = <Column*>malloc((width + 1) * sizeof(Column))
    if specs == NULL:
        raise MemoryError()
    cdef Py_ssize_t number, row
    cdef Column* spec
    cdef PyObject** items = PySequence_Fast_ITEMS(recipients)
    # Filled as it goes; a list with empty places is safe to drop if a row raises.
    cdef list result = PyList_New(count)
    cdef dict values
    cdef object recipient, value, text
    try:
        for number in range(width):
            column = checked[number]
            specs[number].name = <PyObject*>column.name
            specs[number].render = <PyObject*>column.render
            specs[number].index = column.index
            specs[number].rewrites = REWRITES_CR | (REWRITES_HTML if column.escape else 0)
        for row in range(count):
            recipient = <object>items[row]
            values = {}
            for number in range(width):
                spec = &specs[number]
                if spec.index >= 0:
                    value = PySequence_GetItem(recipient, spec.index)
                    if PyUnicode_CheckExact(<PyObject*>value):
                        if _rewritten(<PyObject*>value, spec.rewrites):
                            text = liquid_text(value, spec.rewrites != REWRITES_CR)
                        else:
                            text = value
                    else:
                        text = (<object>spec.render)(recipient)
                else:
                    text = (<object>spec.render)(recipient)
                PyDict_SetItem(values, <object>spec.name, text)
            Py_INCREF(values)
            PyList_SET_ITEM(result, row, values)
    finally:
        free(specs)
    return result
