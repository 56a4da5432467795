"""Where keys come from: the operator's admin key, made once by ``herald serve`` and found (never made)
by the client commands; a project API key, given by the operator.

``herald serve`` keeps a generated key in its data folder, which is relative to where it was started
(``./herald-data`` by default). A command typed in another terminal, in another directory and without
``HERALD_DATA_DIR``, would look in another folder; generating a key there would give it one the server
does not know, and the operator an UNAUTHENTICATED with no clue why. So the server also leaves, per user,
a note of where its key file is, under the port it listens on; a client command takes the first key of:
``--admin-key``, ``HERALD_ADMIN_KEY``, ``<data_dir>/admin_key``, the note for the address's port (local
addresses only), and otherwise fails naming every place it looked.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from kernel.settings import Settings

log = logging.getLogger(__name__)

_LOCAL_HOSTS = frozenset({"", "localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0", "[::]"})


@dataclass(frozen=True, slots=True)
class FoundKey:
    """A key and where it came from, so that a refusal can say which key was refused."""

    secret: str
    source: str


class KeyNotFound(Exception):
    """No key in any of the places looked at (each described for the operator)."""

    def __init__(self, what: str, places: list[str]) -> None:
        super().__init__(f"no {what} found; looked at: " + "; ".join(places))


def admin_key_file(settings: Settings) -> Path:
    return settings.data_dir / "admin_key"


def ensure_admin_key(settings: Settings) -> tuple[str, bool]:
    """The server's key: configured, else kept in the data folder, else a new one (returns True)."""
    configured = settings.admin_key.get_secret_value()
    if configured:
        return configured, False
    path = admin_key_file(settings)
    if path.exists():
        return path.read_text().strip(), False
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = "hadm_" + secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(key + "\n")
    return key, True


def notes_folder() -> Path:
    """Per user, beside other programs' state (XDG base directories)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "herald" / "admin-key-files"


def note_key_file(settings: Settings, port: int) -> None:
    """Called by ``herald serve`` once listening: clients on this machine can find its key by port.
    Nothing is noted for a key given in the settings: it is not in a file, and the note never holds a
    secret, only a path."""
    if settings.admin_key.get_secret_value():
        return
    folder = notes_folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / str(port)).write_text(str(admin_key_file(settings).resolve()) + "\n")
    except OSError as error:
        # A read-only home (a container) must not stop the server: clients then need the data folder.
        log.warning(
            "cannot note where the admin key is for clients",
            extra={"folder": str(folder), "error": str(error)},
        )


def find_admin_key(given: str, settings: Settings, address: str) -> FoundKey:
    """The admin key a client should send to ``address``; :class:`KeyNotFound` names the places tried."""
    if given:
        return FoundKey(given, "--admin-key")
    if settings.admin_key.get_secret_value():
        return FoundKey(settings.admin_key.get_secret_value(), "HERALD_ADMIN_KEY")
    in_data_dir = admin_key_file(settings).resolve()
    if in_data_dir.is_file():
        return FoundKey(in_data_dir.read_text().strip(), str(in_data_dir))
    places = ["--admin-key", "HERALD_ADMIN_KEY", f"{in_data_dir} (HERALD_DATA_DIR/admin_key)"]
    host, _, port = address.rpartition(":")
    if host in _LOCAL_HOSTS or host.startswith("127."):
        note = notes_folder() / port
        noted = Path(note.read_text().strip()) if note.is_file() else None
        if noted is not None and noted.is_file():
            return FoundKey(noted.read_text().strip(), str(noted))
        places.append(
            f"{note} (no note of a `herald serve` on port {port})"
            if noted is None
            else f"{noted} (noted in {note} by a `herald serve` on port {port}, now absent)"
        )
    raise KeyNotFound("admin key", places)


def find_api_key(given: str) -> FoundKey:
    """A project API key from ``--api-key`` or ``HERALD_API_KEY``."""
    if given:
        return FoundKey(given, "--api-key")
    from_environment = os.environ.get("HERALD_API_KEY", "")
    if from_environment:
        return FoundKey(from_environment, "HERALD_API_KEY")
    raise KeyNotFound("API key", ["--api-key", "HERALD_API_KEY"])
