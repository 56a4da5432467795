"""Locust users for Herald's ProfileService over gRPC: TrackEvents with one event (80%), UpsertProfile
(15%) and GetProfile (5%), over a population of customers ``customer-0`` ... ``customer-<N-1>``.

Run it through ``benchmarks/run_locust.py`` (which starts a kernel, creates a project and the customers,
and prints the figures), or by hand against a running kernel:

    HERALD_API_KEY=hrk_... locust -f benchmarks/locustfile.py --headless -u 50 -r 50 -t 30s \\
        --host 127.0.0.1:50051

Environment: ``HERALD_API_KEY`` (required), ``HERALD_BENCH_PEOPLE`` (customers, default 10000),
``HERALD_BENCH_USER_RATE`` (calls per second per user; 0, the default, means as fast as possible).
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
from locust import User, constant, constant_throughput, task  # noqa: E402
from locust.env import Environment  # noqa: E402

from herald.v1 import common_pb2, profiles_pb2, profiles_pb2_grpc  # noqa: E402

API_KEY = os.environ.get("HERALD_API_KEY", "")
PEOPLE = int(os.environ.get("HERALD_BENCH_PEOPLE", "10000"))
USER_RATE = float(os.environ.get("HERALD_BENCH_USER_RATE", "0"))
PAGES = [f"/products/{n}" for n in range(200)]


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
        if not API_KEY:
            raise RuntimeError("set HERALD_API_KEY to a project API key")
        self.channel = grpc.intercept_channel(
            grpc.insecure_channel(self.host), RequestRecorder(self.environment)
        )
        self.stub = profiles_pb2_grpc.ProfileServiceStub(self.channel)
        self.metadata = (("authorization", f"Bearer {API_KEY}"),)

    def on_stop(self) -> None:
        self.channel.close()

    def customer(self) -> common_pb2.ProfileRef:
        return common_pb2.ProfileRef(custom_id=f"customer-{random.randrange(PEOPLE)}")

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
