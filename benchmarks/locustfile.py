"""Locust users for Herald's ProfileService over gRPC: TrackEvents with one event (80%), UpsertProfile
(15%) and GetProfile (5%), over customers of the run's own.

Run it through ``benchmarks/run_locust.py`` (which prints the figures), or by hand against any running
Herald, a production one included:

    HERALD_API_KEY=hrk_... locust -f benchmarks/locustfile.py --headless -u 50 -r 50 -t 30s \\
        --host 127.0.0.1:50051

Before the users start, it creates its customers, ``locust-<run>-0`` ... ``locust-<run>-<N-1>`` (a random
``<run>`` each time), in the project of ``HERALD_API_KEY``, or, given ``HERALD_ADMIN_KEY`` instead, in a
project it creates (``locust <run>``): it assumes nothing about what the deployment holds, so a call
fails only when Herald refuses it. Locust reports calls/s, p50 and p99 per RPC (the method's name).

Environment: ``HERALD_API_KEY`` or ``HERALD_ADMIN_KEY``, ``HERALD_BENCH_PEOPLE`` (customers, default
10000), ``HERALD_BENCH_USER_RATE`` (calls per second per user; 0, the default, means as fast as possible).
"""

from __future__ import annotations

import grpc.experimental.gevent as grpc_gevent

# gRPC must cooperate with gevent before any channel exists (locust's documented gRPC pattern).
grpc_gevent.init_gevent()

import contextlib  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import grpc  # noqa: E402
from locust import User, constant, constant_throughput, events, task  # noqa: E402
from locust.env import Environment  # noqa: E402
from locust.runners import MasterRunner  # noqa: E402

from herald.v1 import common_pb2, profiles_pb2, profiles_pb2_grpc, projects_pb2, projects_pb2_grpc  # noqa: E402

PEOPLE = int(os.environ.get("HERALD_BENCH_PEOPLE", "10000"))
USER_RATE = float(os.environ.get("HERALD_BENCH_USER_RATE", "0"))
PAGES = [f"/products/{n}" for n in range(200)]
RUN = uuid.uuid4().hex[:8]
SEED_BATCH = 1000


class Population:
    """The project the users call (its API key) and the customers this run created in it."""

    api_key = os.environ.get("HERALD_API_KEY", "")
    ready = False

    @staticmethod
    def custom_id(number: int) -> str:
        return f"locust-{RUN}-{number}"


def _bearer(key: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {key}"),)


@events.test_start.add_listener
def prepare(environment: Environment, **_: Any) -> None:
    """Before any user runs: a project if only an admin key was given, then the run's customers (one
    event each, batched, outside the statistics)."""
    if isinstance(environment.runner, MasterRunner):
        return  # the workers, each with a population of its own, do it
    admin_key = os.environ.get("HERALD_ADMIN_KEY", "")
    if not Population.api_key and not admin_key:
        raise RuntimeError("set HERALD_API_KEY (a project's) or HERALD_ADMIN_KEY (to create a project)")
    with grpc.insecure_channel(environment.host) as channel:
        if not Population.api_key:
            project = projects_pb2_grpc.ProjectServiceStub(channel).CreateProject(
                projects_pb2.CreateProjectRequest(name=f"locust {RUN}"), metadata=_bearer(admin_key)
            )
            Population.api_key = project.initial_api_key.secret
        stub = profiles_pb2_grpc.ProfileServiceStub(channel)
        for start in range(0, PEOPLE, SEED_BATCH):
            signups = [
                profiles_pb2.TrackedEvent(
                    profile=common_pb2.ProfileRef(custom_id=Population.custom_id(n)), name="signed_up"
                )
                for n in range(start, min(start + SEED_BATCH, PEOPLE))
            ]
            stub.TrackEvents(
                profiles_pb2.TrackEventsRequest(events=signups), metadata=_bearer(Population.api_key)
            )
    Population.ready = True


class RequestRecorder(grpc.UnaryUnaryClientInterceptor):
    """Reports every unary call to locust's statistics (name = the RPC's method name)."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], client_call_details: grpc.ClientCallDetails, request: Any
    ) -> Any:
        started = time.perf_counter()
        call = continuation(client_call_details, request)
        exception = call.exception()
        self.environment.events.request.fire(
            request_type="grpc",
            name=client_call_details.method.rsplit("/", 1)[-1],
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0 if exception else call.result().ByteSize(),
            exception=exception,
            context={},
        )
        return call


class ProfileServiceUser(User):
    """One backend talking to Herald: mostly tracking single events, sometimes writing or reading."""

    wait_time = constant_throughput(USER_RATE) if USER_RATE else constant(0)

    def on_start(self) -> None:
        if not Population.ready:
            raise RuntimeError("the run's customers could not be created (see the error before this one)")
        self.channel = grpc.intercept_channel(
            grpc.insecure_channel(self.host), RequestRecorder(self.environment)
        )
        self.stub = profiles_pb2_grpc.ProfileServiceStub(self.channel)
        self.metadata = _bearer(Population.api_key)

    def on_stop(self) -> None:
        self.channel.close()

    def customer(self) -> common_pb2.ProfileRef:
        return common_pb2.ProfileRef(custom_id=Population.custom_id(random.randrange(PEOPLE)))

    def call(self, method: Callable[..., Any], request: Any) -> None:
        # Failures are already in locust's statistics (the interceptor); the user carries on.
        with contextlib.suppress(grpc.RpcError):
            method(request, metadata=self.metadata)

    @task(80)
    def track_event(self) -> None:
        event = profiles_pb2.TrackedEvent(
            profile=self.customer(),
            name="page.viewed",
            event_id=uuid.uuid4().hex,
            attributes={"path": common_pb2.AttributeValue(string_value=random.choice(PAGES))},
        )
        self.call(self.stub.TrackEvents, profiles_pb2.TrackEventsRequest(events=[event]))

    @task(15)
    def upsert_profile(self) -> None:
        request = profiles_pb2.UpsertProfileRequest(
            profile=self.customer(),
            attributes={
                "plan": common_pb2.AttributeValue(string_value=random.choice(["free", "pro", "team"])),
                "visits": common_pb2.AttributeValue(number_value=random.randrange(1000)),
            },
        )
        self.call(self.stub.UpsertProfile, request)

    @task(5)
    def get_profile(self) -> None:
        self.call(
            self.stub.GetProfile, profiles_pb2.GetProfileRequest(profile=self.customer(), recent_events=5)
        )
