"""TLS on the gRPC port: the credentials a kernel serves with (its certificate and key files) and those a
client command connects with (the system's certificate authorities, or a CA file it is told to trust).

Without a certificate the port speaks plaintext, which suits loopback and a TLS-terminating proxy in
front; with one it speaks TLS only, so a client that forgot ``--tls`` is refused rather than answered
in clear.
"""

from __future__ import annotations

from pathlib import Path

import grpc


class TlsFileError(Exception):
    """A certificate, key or CA file cannot be read: the message names the setting or option and file."""


def _read(path: str, named: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise TlsFileError(f"{named}: cannot read {path}: {error.strerror}") from None


def server_credentials(cert_file: str, key_file: str) -> grpc.ServerCredentials | None:
    """What the gRPC port serves with: TLS with this certificate chain and key, or plaintext (None) when
    no certificate is set."""
    if not cert_file:
        return None
    chain = _read(cert_file, "HERALD_GRPC_TLS_CERT_FILE")
    key = _read(key_file, "HERALD_GRPC_TLS_KEY_FILE")
    return grpc.ssl_server_credentials([(key, chain)])


def channel_credentials(tls: bool, ca_file: str) -> grpc.ChannelCredentials | None:
    """What a client connects with: TLS trusting ``ca_file`` (which implies TLS) or the system's
    authorities, or plaintext (None)."""
    if ca_file:
        return grpc.ssl_channel_credentials(root_certificates=_read(ca_file, "--ca-file"))
    return grpc.ssl_channel_credentials() if tls else None
