"""Which process reads each setting: ``serve`` (the kernel: API, webhooks and its own sender workers),
``worker`` (``herald worker``: sender workers, no API) and ``cli`` (the client commands).

A setting given to a process that does not read it is ignored there, which an operator cannot see; the
README's settings table shows this column, and ``herald worker`` refuses the settings an operator would
expect to change what its workers send but that only the API applies (see :data:`REFUSED_BY_WORKER`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kernel.settings import Settings

SERVE = "serve"
WORKER = "worker"
CLI = "cli"
_BOTH = (SERVE, WORKER)
_API = (SERVE,)

#: Settings read by fewer processes than both server kinds; every other one is read by ``serve`` and
#: ``worker`` alike (both open the same database, channels, senders, workers and webhook appliers).
LIMITED_READERS: dict[str, tuple[str, ...]] = {
    "grpc_address": (SERVE, CLI),
    "grpc_tls_cert_file": _API,
    "grpc_tls_key_file": _API,
    "grpc_tls": (CLI,),
    "grpc_tls_ca_file": (CLI,),
    "api_processes": _API,
    "webhook_receive_concurrency": _API,
    "webhook_bytes_per_second": _API,
    "admin_key": (SERVE, CLI),
    "data_dir": (SERVE, WORKER, CLI),
    "auth_cache_seconds": _API,
    "purge_interval_seconds": _API,
    "max_attributes": _API,
    "max_attribute_key_length": _API,
    "max_string_bytes": _API,
    "max_list_items": _API,
    "max_events_per_batch": _API,
    "max_addresses": _API,
    "event_commit": _API,
    "event_flush_max_delay_ms": _API,
    "upsert_flush_max_delay_ms": _API,
    "default_wave_rate": _API,
    "scheduler_poll_seconds": _API,
    "automation_segment_sweep_seconds": _API,
    "automation_date_scan_seconds": _API,
}

#: Read by the API when a send is created (it becomes the send's own pace), never by a worker: given to
#: ``herald worker`` alone it would change nothing, so the worker refuses to start with it.
REFUSED_BY_WORKER = frozenset({"default_wave_rate"})


def readers(name: str) -> tuple[str, ...]:
    """The processes that read setting ``name``."""
    return LIMITED_READERS.get(name, _BOTH)


def refused_by_worker(settings: Settings) -> list[str]:
    """The settings ``herald worker`` must refuse: among :data:`REFUSED_BY_WORKER`, those set to other
    than their default (by the environment or the configuration file)."""
    fields = type(settings).model_fields
    return sorted(name for name in REFUSED_BY_WORKER if getattr(settings, name) != fields[name].default)
