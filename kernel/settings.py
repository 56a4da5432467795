"""Herald's settings: the one place where every operator knob is declared, typed and documented.

Values come, highest priority first, from ``HERALD_*`` environment variables, then the TOML file named by
``HERALD_CONFIG_FILE`` (default ``herald.toml`` in the working directory, if present), then the defaults
below. ``herald settings`` prints the effective values; ``herald settings --doc`` prints this table.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from kernel.channels.sandbox_feedback import FeedbackRates
from kernel.setting_readers import readers
from sender_ext.types import Rate


class WarmUp(BaseModel):
    """A warm-up ramp: ``daily[d]`` messages on day ``d`` counted from ``start`` (UTC)."""

    model_config = ConfigDict(extra="forbid")

    start: date
    daily: list[Annotated[int, Field(ge=1)]] = Field(min_length=1)


def _config_file() -> Path:
    return Path(os.environ.get("HERALD_CONFIG_FILE", "herald.toml"))


class Settings(BaseSettings):
    """Every setting, with its default and why an operator would change it."""

    model_config = SettingsConfigDict(env_prefix="HERALD_", extra="forbid", validate_default=True)

    grpc_address: str = Field(
        "127.0.0.1:50051", description="Where the gRPC API listens (host:port; port 0 picks a free one)."
    )
    grpc_tls_cert_file: str = Field(
        "",
        description="PEM certificate chain the gRPC port presents; with grpc_tls_key_file it serves TLS "
        "only (a plaintext client is refused). Empty: plaintext, for loopback or behind a proxy that "
        "terminates TLS.",
    )
    grpc_tls_key_file: str = Field(
        "", description="PEM private key of grpc_tls_cert_file; set both or neither."
    )
    grpc_tls: bool = Field(
        False,
        description="Client commands connect over TLS, trusting the system's certificate authorities "
        "(or grpc_tls_ca_file); the same as their --tls option.",
    )
    grpc_tls_ca_file: str = Field(
        "",
        description="PEM certificates the client commands trust for the kernel's (a self-signed "
        "certificate, a private authority); implies grpc_tls. The same as their --ca-file option.",
    )
    api_processes: int = Field(
        1,
        ge=1,
        le=64,
        description="Processes of `herald serve` answering the API on grpc_address (Linux's "
        "SO_REUSEPORT hands each client connection to one of them): one process's event loop uses one "
        "core at most. The extra ones serve only the API, each with its own db_pool_max_size "
        "connections and its own group commits; sender workers, webhooks and metrics stay in the first.",
    )
    webhook_address: str = Field(
        "127.0.0.1:8470",
        description="Where provider webhooks are received: POST /webhooks/<project id>/<channel>. A "
        "sandboxed `herald worker` has its emulators report to the kernel listening there.",
    )
    webhook_workers: int = Field(
        1,
        ge=0,
        description="Stored webhook batches each kernel applies at the same time (parsed, then written "
        "to timelines, suppressions and consent); each costs API calls latency while it runs. "
        "0: this kernel only receives; others apply.",
    )
    webhook_receive_concurrency: int = Field(
        4,
        ge=1,
        description="Webhook calls one kernel reads and stores at the same time; more wait their turn, "
        "so a burst of large posts holds at most this many bodies and database connections.",
    )
    webhook_bytes_per_second: int = Field(
        8 * 1024 * 1024,
        ge=1024,
        description="Webhook body bytes one kernel reads per second, all calls together; a provider "
        "sending faster waits (its post takes longer). Each stored byte is written to PostgreSQL's log, "
        "which API commits wait for: this bounds what a burst of large posts costs them.",
    )
    webhook_poll_seconds: float = Field(
        1.0,
        gt=0,
        description="How often an idle kernel looks for webhook batches another kernel received.",
    )
    outhook_concurrency: int = Field(
        16,
        ge=1,
        description="Outgoing webhook calls one kernel makes at the same time, all endpoints together.",
    )
    outhook_endpoint_concurrency: int = Field(
        2,
        ge=1,
        description="Outgoing webhook calls one kernel makes to one endpoint at the same time: a slow "
        "endpoint holds at most this many of the outhook_concurrency slots.",
    )
    outhook_timeout_seconds: float = Field(
        10.0, gt=0, description="An outgoing webhook call not answered within this is a failure, retried."
    )
    outhook_batch_size: int = Field(100, ge=1, description="Events posted together in one webhook call.")
    outhook_batch_bytes: int = Field(
        256 * 1024,
        ge=1024,
        description="Largest body of a webhook call (a JSON array of events); an event larger on its own "
        "is posted alone.",
    )
    outhook_retry_base_seconds: float = Field(
        10.0,
        gt=0,
        description="Delay before a failed webhook call's events are tried again, doubled each "
        "time (with jitter; an endpoint's Retry-After is honoured).",
    )
    outhook_retry_max_seconds: float = Field(
        3600.0, gt=0, description="Longest delay between two attempts of a webhook event."
    )
    outhook_max_age_seconds: float = Field(
        86400.0,
        gt=0,
        description="A webhook event not delivered this long after it happened is dropped, and counted in "
        "its endpoint's dropped_events.",
    )
    outhook_disable_after_seconds: float = Field(
        86400.0,
        gt=0,
        description="An endpoint whose every call failed for this long is disabled (disabled_reason "
        '"failing", logged); UpdateWebhookEndpoint enables it again.',
    )
    outhook_poll_seconds: float = Field(
        1.0, gt=0, description="How often an idle kernel looks for webhook events to post."
    )
    outhook_private_networks: bool = Field(
        False,
        description="Outgoing webhooks may call addresses that are not public (loopback, private, "
        "link-local ranges). Off, an endpoint's URL cannot make Herald call the machines it runs beside "
        "(a refused call fails as any unreachable endpoint does, its reason in ListWebhookDeliveries). "
        "Turn it on for endpoints in your own network, or for plain-http endpoints on this machine.",
    )
    outhook_attempts_kept: int = Field(
        100, ge=1, description="Webhook calls kept per endpoint for ListWebhookDeliveries."
    )
    scheduler_poll_seconds: float = Field(
        5.0,
        gt=0,
        description="How often each kernel looks for due timers (scheduled and recurring campaign "
        "occurrences, automation waits); a timer runs at most this long after it is due. Scheduling a "
        "campaign to send now, and an event that enters a profile into an automation, wake the kernel "
        "that took the call at once.",
    )
    automation_segment_sweep_seconds: float = Field(
        300.0,
        ge=1,
        description="How often each automation entered by joining or leaving a segment evaluates the "
        "segment for every profile: a profile that moves without being written (a condition relative to "
        "now, e.g. an event within the last 7 days) enters at most this long (plus a timer poll) after. A "
        "profile written (attributes, addresses, consent, events) is evaluated again at once.",
    )
    automation_date_scan_seconds: float = Field(
        3600.0,
        ge=1,
        le=86_400,
        description="How often each automation entered on a date attribute (e.g. a birthday) plans the "
        "occurrences of the next two days as timers: a date written less than this long before its time "
        "of day may be missed that time.",
    )
    scheduler_width: int = Field(
        4,
        ge=1,
        description="Due timers each kernel runs at once (each holds one of the kernel's database "
        "connections while it runs): automation events and waits of different profiles side by side, "
        "one profile's always in due order.",
    )
    scheduler_claim_size: int = Field(
        50,
        ge=1,
        le=1000,
        description="Due timers each kernel claims at once (a poll claims until none is left). The "
        "automations' tracked events and ends of waits among them, one per profile, run as one batch: one "
        "transaction and one commit for all, their messages sent together. Larger batches cost fewer "
        "commits per event; a claimed timer waits for its kernel while others may be idle.",
    )
    scheduler_max_attempts: int = Field(
        10,
        ge=1,
        description="Runs of a timer whose handler fails (each after the last one's lease, 5 minutes) "
        "before it is given up: marked failed with its last error in scheduled_jobs (state 'failed', "
        "last_error) and counted in herald_timers_given_up_total, instead of being tried forever.",
    )
    database_url: str = Field(
        "",
        description="PostgreSQL DSN (postgresql://user:pass@host:5432/db). Empty: an embedded PostgreSQL "
        "is started in <data_dir>/postgres.",
    )
    admin_key: SecretStr = Field(
        SecretStr(""),
        description="Operator key for ProjectService. Empty: generated on first start and kept in "
        "<data_dir>/admin_key.",
    )
    credentials_key: SecretStr = Field(
        SecretStr(""),
        description="32 random bytes, base64url: encrypts channel credentials at rest. Every kernel of a "
        "deployment needs the same one. Empty: generated on first start, kept in <data_dir>/credentials_key.",
    )
    data_dir: Path = Field(Path("herald-data"), description="Local state: embedded database, admin key.")
    db_pool_min_size: int = Field(2, ge=1, description="Connections opened at start.")
    db_pool_max_size: int = Field(10, ge=1, description="Connections one kernel may hold at most.")
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR.")
    log_format: str = Field(
        "json", pattern="^(json|text)$", description="json (one object per line) or text."
    )
    log_repeat_window_seconds: float = Field(
        60.0,
        ge=0,
        description="An identical warning or error (same logger, message and exception type) is logged "
        "once per this many seconds; the next one logged says how many were held back (`repeated`). "
        "Provider trouble (a channel or domain deferring, failing, expiring, slowed down) is summed up "
        "per channel, domain and kind over the same window. 0 logs every one.",
    )
    shutdown_grace_seconds: float = Field(
        10.0, ge=0, description="How long in-flight calls may finish after SIGTERM/SIGINT."
    )
    auth_cache_seconds: float = Field(
        5.0,
        ge=0,
        description="How long a verified API key is trusted before it is looked up again; "
        "bounds how long a key revoked on another kernel stays usable.",
    )
    purge_interval_seconds: float = Field(
        3600.0, gt=0, description="How often inactive profiles are purged (per project retention)."
    )
    max_attributes: int = Field(256, ge=1, description="Attributes per profile, and per event.")
    max_attribute_key_length: int = Field(64, ge=1, description="Characters in an attribute key.")
    max_string_bytes: int = Field(2048, ge=1, description="UTF-8 bytes in a string attribute value.")
    max_list_items: int = Field(64, ge=1, description="Items in a string-list attribute value.")
    max_events_per_batch: int = Field(1000, ge=1, description="Events in one TrackEvents call or message.")
    max_addresses: int = Field(64, ge=1, description="Channel addresses of each kind on one profile.")
    event_commit: str = Field(
        "durable",
        pattern="^(durable|fast)$",
        description="durable: a tracked event is acknowledged once its write is on disk. fast: once "
        "PostgreSQL has it in memory (asynchronous commit): a database or machine crash can lose the "
        "last fraction of a second of acknowledged events, never corrupt anything; calls no longer wait "
        "for the disk's flush (on this machine's disk: p99 of single-event calls 8-10 ms instead of "
        "occasional 100+ ms).",
    )
    event_flush_max_delay_ms: float = Field(
        2.0,
        ge=0,
        description="How long a single-event call may wait to share a database write with "
        "concurrent calls (group commit). Raises throughput at the cost of at most this latency.",
    )
    upsert_flush_max_delay_ms: float = Field(
        2.0,
        ge=0,
        description="How long an UpsertProfile call may wait to share a database transaction with "
        "concurrent calls of its project (group commit). Raises throughput at the cost of at most this "
        "latency.",
    )
    # Bulk sending (sender workers). See "Bulk sending" in the README.
    worker_count: int = Field(
        1,
        ge=0,
        description="Sender workers run inside each kernel. 0: this kernel only serves the API "
        "(run `herald worker` processes instead); several kernels and workers share one database.",
    )
    worker_batch_size: int = Field(
        2000,
        ge=1,
        le=100_000,
        description="Profiles in a slice of a bulk send (a worker's unit of work: its audience read in "
        "one statement, cut into provider batches by each channel's maximum), and messages taken at once "
        "from those waiting for a retry. A crash resends at most the provider batches in flight.",
    )
    worker_concurrency: int = Field(4, ge=1, description="Claimed batches one worker sends at the same time.")
    channel_concurrency: dict[str, int] = Field(
        {},
        description='Provider requests in flight per channel and worker, e.g. {"push.apns": 16}; '
        "channels not listed get `default_channel_concurrency`.",
    )
    default_channel_concurrency: int = Field(
        4, ge=1, description="Provider requests in flight per channel and worker, unless listed."
    )
    default_wave_rate: str = Field(
        "",
        description="Pace of a bulk send that sets none, like '1000/hour' or '500/min' (spread evenly). "
        "Empty: as fast as the domain throttles and workers allow.",
    )
    domain_limits: dict[str, str] = Field(
        {},
        description='Per-email-domain send rate of each worker group, e.g. {"gmail.com": "500/min"}; '
        "divided among the live workers. A domain that defers (4xx, 421, 429) is slowed down and recovers "
        "gradually.",
    )
    default_domain_limit: str = Field(
        "", description="Rate of every email domain not in `domain_limits`, like '2000/min'. Empty: none."
    )
    domain_warmup: dict[str, WarmUp] = Field(
        {},
        description='Daily volume ramp of new domains or sending pools: {"gmail.com": {"start": '
        '"2026-12-01", "daily": [500, 1000, 5000]}} sends at most daily[d] messages on day d after start '
        "(spread over the day), then the regular limit. Key '*': every domain without its own ramp.",
    )
    retry_base_seconds: float = Field(
        30.0,
        gt=0,
        description="First retry delay of a temporary failure; doubled at each attempt, "
        "half of it random. A provider's Retry-After wins.",
    )
    retry_max_seconds: float = Field(3600.0, gt=0, description="Longest delay between two attempts.")
    message_max_age_seconds: float = Field(
        86400.0,
        gt=0,
        description="A message still failing temporarily this long after its first attempt is given up "
        "(status expired).",
    )
    config_suspect_pause_failures: int = Field(
        20,
        ge=0,
        description="Provider answers that may mean a wrong channel configuration (APNs BadDeviceToken, "
        "FCM SENDER_ID_MISMATCH: reason config_suspect, never pruned) one worker must see in a send "
        "before the channel is paused for the project; 0: never pause.",
    )
    config_suspect_pause_ratio: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Share of a send's answers on a channel (as one worker saw them) that must be "
        "config_suspect, with at least config_suspect_pause_failures of them, to pause the channel for "
        "the project. A few stray tokens among good ones just fail.",
    )
    lease_seconds: float = Field(
        60.0,
        gt=0,
        description="A worker whose heartbeat is older than this is dead: the messages it claimed are "
        "taken over by the others (and may be sent twice, with the same message id).",
    )
    transactional_lease_seconds: float = Field(
        300.0,
        gt=0,
        description="How long a transactional message may stay in a sender's hands (the "
        "SendTransactional call, or a worker retrying it) without an outcome: then its sender is taken "
        "for dead and a worker sends it again, with the same message id. Longer than any provider call.",
    )
    heartbeat_seconds: float = Field(
        5.0, gt=0, description="How often a worker records that it is alive (and counts its peers)."
    )
    message_log_days: int = Field(
        90,
        ge=1,
        description="Days the message log keeps each attempted bulk message (who was sent what, and "
        "its outcome): an older day is dropped whole. Feedback on an older message still reaches its "
        "profile by address, but no longer its send's statistics; erasure and export no longer list it.",
    )
    metrics_address: str = Field(
        "127.0.0.1:9464",
        description="Where Prometheus metrics are served (GET /metrics); port 0 picks a free one, empty "
        "turns them off. A second process on the same host needs its own port (a taken one is logged as "
        "an error and the process runs without metrics).",
    )
    sandbox: bool = Field(
        False,
        description="Deliver every channel to its loopback emulator, started in this process: Herald "
        "runs end to end with no provider account. Channels in channel_endpoints keep their endpoint.",
    )
    sandbox_feedback_bounced: float = Field(
        0.02,
        ge=0,
        le=1,
        description="Sandbox: share of the messages an emulator whose provider reports by webhook "
        "(SparkPost, Twilio) reports as hard bounces (the address is suppressed). Drawn from each "
        "message id: the same message always gets the same fate.",
    )
    sandbox_feedback_delivered: float = Field(
        1.0,
        ge=0,
        le=1,
        description="Sandbox: share of the messages not bounced that the emulator reports delivered; "
        "the others get no report.",
    )
    sandbox_feedback_opened: float = Field(
        0.3, ge=0, le=1, description="Sandbox: share of the delivered emails reported opened."
    )
    sandbox_feedback_clicked: float = Field(
        0.1,
        ge=0,
        le=1,
        description="Sandbox: share of the opened emails reported clicked (their first link).",
    )
    sandbox_feedback_unsubscribed: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Sandbox: share of the delivered emails whose recipient unsubscribes (SparkPost "
        "list_unsubscribe: suppressed, and marketing consent withdrawn).",
    )
    sandbox_feedback_unregistered: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Sandbox: share of push tokens and web push subscriptions (APNs, FCM, web push) the "
        "emulators answer as unregistered (the address is pruned). Drawn from each token: it is dead for "
        "every message.",
    )
    channel_endpoints: dict[str, str] = Field(
        {},
        description='Send a channel to this base URL instead of its provider, e.g. {"email.sparkpost": '
        '"http://127.0.0.1:8025"}: the loopback emulators in tests, benchmarks and sandboxes.',
    )

    def sandbox_feedback_rates(self) -> FeedbackRates:
        return FeedbackRates(
            delivered=self.sandbox_feedback_delivered,
            opened=self.sandbox_feedback_opened,
            clicked=self.sandbox_feedback_clicked,
            bounced=self.sandbox_feedback_bounced,
            unsubscribed=self.sandbox_feedback_unsubscribed,
            unregistered=self.sandbox_feedback_unregistered,
        )

    @model_validator(mode="after")
    def _tls_pair(self) -> Settings:
        if bool(self.grpc_tls_cert_file) != bool(self.grpc_tls_key_file):
            missing = "grpc_tls_key_file" if self.grpc_tls_cert_file else "grpc_tls_cert_file"
            raise ValueError(f"{missing}: TLS needs both grpc_tls_cert_file and grpc_tls_key_file")
        return self

    @field_validator("default_wave_rate")
    @classmethod
    def _wave_rate(cls, value: str) -> str:
        if value and Rate.parse(value).per not in (60.0, 3600.0):
            raise ValueError("a wave rate is per minute or per hour, like '1000/hour'")
        return value

    @field_validator("default_domain_limit")
    @classmethod
    def _rate_or_empty(cls, value: str) -> str:
        if value:
            Rate.parse(value)
        return value

    @field_validator("domain_limits")
    @classmethod
    def _rates(cls, value: dict[str, str]) -> dict[str, str]:
        for domain, rate in value.items():
            try:
                Rate.parse(rate)
            except ValueError as error:
                raise ValueError(f"{domain}: {error}") from None
        return {domain.strip().lower(): rate for domain, rate in value.items()}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, _config_file()))

    def effective(self) -> dict[str, Any]:
        """The values as an operator should see them: secrets masked."""
        values = self.model_dump()
        for secret in ("admin_key", "credentials_key"):
            values[secret] = "********" if getattr(self, secret).get_secret_value() else ""
        values["data_dir"] = str(self.data_dir)
        values["database_url"] = _masked_dsn(self.database_url)
        return values


def _masked_dsn(dsn: str) -> str:
    """The DSN with its password (if any) replaced: it is a secret, whatever else it says is not."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    user = f"{parts.username}:" if parts.username else ":"
    return parts._replace(netloc=f"{user}********@{parts.netloc.rpartition('@')[2]}").geturl()


def documentation() -> list[tuple[str, str, str, str]]:
    """(env variable, type, default, description) for every setting: the source of the README table."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = field.default.get_secret_value() if isinstance(field.default, SecretStr) else field.default
        type_name = "secret" if field.annotation is SecretStr else getattr(field.annotation, "__name__", "")
        shown = str(default) if isinstance(default, Path) else repr(default)
        rows.append((f"HERALD_{name.upper()}", type_name, shown, field.description or ""))
    return rows


def markdown_table() -> str:
    """The settings table of README.md (``herald settings --markdown``; a test keeps the README in sync)."""
    lines = ["| Variable | Type | Default | Read by | What it does |", "|---|---|---|---|---|"]
    lines += [
        f"| `{env}` | {kind} | `{default}` | {', '.join(readers(name))} | {text} |"
        for name, (env, kind, default, text) in zip(Settings.model_fields, documentation(), strict=True)
    ]
    return "\n".join(lines)
