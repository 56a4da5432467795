# cython: language_level=3, boundscheck=False, wraparound=False
"""A push request's two frames in one piece, compiled: one allocation and a few copies, where the
interpreter makes and joins a dozen objects. The pure-Python twin (``_framer_py.py``) documents the
behaviour; tests/plugins/test_apns_framer.py checks that both give the same bytes."""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.string cimport memcpy

# RFC 9113 frame types and flags (plugins/apns/h2wire.py).
cdef unsigned char _DATA = 0x0
cdef unsigned char _HEADERS = 0x1
cdef unsigned char _END_STREAM = 0x1
cdef unsigned char _END_HEADERS = 0x4


cdef Py_ssize_t _literal_size(Py_ssize_t length):
    """The bytes of a string literal of ``length`` bytes, its 7-bit-prefix length included."""
    cdef Py_ssize_t size = 1
    if length >= 0x7F:
        length -= 0x7F
        size += 1
        while length >= 0x80:
            length >>= 7
            size += 1
    return size


cdef char* _put_literal(char* out, bytes value):
    cdef Py_ssize_t length = PyBytes_GET_SIZE(value)
    cdef Py_ssize_t rest
    if length < 0x7F:
        out[0] = <char>length
        out += 1
    else:
        out[0] = <char>0x7F
        out += 1
        rest = length - 0x7F
        while rest >= 0x80:
            out[0] = <char>((rest & 0x7F) | 0x80)
            out += 1
            rest >>= 7
        out[0] = <char>rest
        out += 1
    memcpy(out, PyBytes_AS_STRING(value), length)
    return out + length


cdef char* _put_bytes(char* out, bytes value):
    cdef Py_ssize_t length = PyBytes_GET_SIZE(value)
    memcpy(out, PyBytes_AS_STRING(value), length)
    return out + length


cdef char* _put_head(char* out, Py_ssize_t length, unsigned char kind, unsigned char flags, unsigned long stream_id):
    out[0] = <char>((length >> 16) & 0xFF)
    out[1] = <char>((length >> 8) & 0xFF)
    out[2] = <char>(length & 0xFF)
    out[3] = <char>kind
    out[4] = <char>flags
    out[5] = <char>((stream_id >> 24) & 0xFF)
    out[6] = <char>((stream_id >> 16) & 0xFF)
    out[7] = <char>((stream_id >> 8) & 0xFF)
    out[8] = <char>(stream_id & 0xFF)
    return out + 9


def string_literal(bytes value not None):
    cdef Py_ssize_t length = PyBytes_GET_SIZE(value)
    result = PyBytes_FromStringAndSize(NULL, _literal_size(length) + length)
    _put_literal(PyBytes_AS_STRING(result), value)
    return result


def request_frames(
    unsigned long stream_id,
    bytes before_path not None,
    bytes path not None,
    bytes before_id not None,
    bytes apns_id,
    bytes body not None,
    Py_ssize_t max_frame,
):
    cdef Py_ssize_t size = (
        PyBytes_GET_SIZE(before_path)
        + _literal_size(PyBytes_GET_SIZE(path))
        + PyBytes_GET_SIZE(path)
        + PyBytes_GET_SIZE(before_id)
    )
    if apns_id is not None:
        size += _literal_size(PyBytes_GET_SIZE(apns_id)) + PyBytes_GET_SIZE(apns_id)
    if size > max_frame:
        return None
    cdef Py_ssize_t length = PyBytes_GET_SIZE(body)
    result = PyBytes_FromStringAndSize(NULL, 9 + size + 9 + length)
    cdef char* out = PyBytes_AS_STRING(result)
    out = _put_head(out, size, _HEADERS, _END_HEADERS, stream_id)
    out = _put_bytes(out, before_path)
    out = _put_literal(out, path)
    out = _put_bytes(out, before_id)
    if apns_id is not None:
        out = _put_literal(out, apns_id)
    out = _put_head(out, length, _DATA, _END_STREAM, stream_id)
    _put_bytes(out, body)
    return result
