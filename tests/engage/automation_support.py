"""Helpers of the automation tests: automations to save, events to track, a kernel that runs the timers
quickly, and what the SparkPost emulator accepted."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from google.protobuf import duration_pb2

from herald.v1 import automations_pb2 as pb
from herald.v1 import (
    automations_pb2_grpc,
    common_pb2,
    messages_pb2,
    profiles_pb2,
    profiles_pb2_grpc,
    segments_pb2,
    templates_pb2,
    templates_pb2_grpc,
)
from kernel.server import RunningServer
from kernel.settings import Settings
from tests.conftest import SPARKPOST, ProjectKey
from tests.delivery.support import until
from tests.engage.conftest import other_kernel


async def saved_template(
    templates: templates_pb2_grpc.TemplateServiceStub, project: ProjectKey, subject: str
) -> templates_pb2.Template:
    """An email template whose subject starts with ``subject`` and prints the event's ``item``."""
    message = messages_pb2.MessageTemplate(
        subject=subject + " {{ first_name }} {{ event.item }}", html="<p>" + subject + "</p>"
    )
    return await templates.CreateTemplate(
        templates_pb2.CreateTemplateRequest(
            template=templates_pb2.Template(name=subject, languages={"en": message}, fallback_language="en")
        ),
        metadata=project.auth,
    )


def wait(step_id: str, seconds: float, next_step: str) -> pb.Step:
    span = duration_pb2.Duration()
    span.FromNanoseconds(int(seconds * 1e9))
    return pb.Step(step_id=step_id, next=next_step, wait=pb.WaitStep(duration=span))


def send(step_id: str, template: templates_pb2.Template, next_step: str) -> pb.Step:
    return pb.Step(
        step_id=step_id,
        next=next_step,
        send=pb.SendStep(
            channel=SPARKPOST, template=messages_pb2.TemplateRef(template_id=template.template_id)
        ),
    )


def end(step_id: str = "end") -> pb.Step:
    return pb.Step(step_id=step_id, end=pb.EndStep())


def automation(steps: list[pb.Step], **fields: Any) -> pb.Automation:
    """Entered by "cart_abandoned" unless ``fields`` say otherwise."""
    fields.setdefault("name", "abandoned cart")
    fields.setdefault("trigger", pb.AutomationTrigger(event=pb.EventTrigger(name="cart_abandoned")))
    return pb.Automation(steps=steps, **fields)


def more_than(key: str, number: float) -> segments_pb2.AttributeCondition:
    bound = segments_pb2.RangeBound(number=number)
    return segments_pb2.AttributeCondition(key=key, range=segments_pb2.Range(gt=bound))


async def active(
    stub: automations_pb2_grpc.AutomationServiceStub, project: ProjectKey, made: pb.Automation
) -> pb.Automation:
    created = await stub.CreateAutomation(pb.CreateAutomationRequest(automation=made), metadata=project.auth)
    return await stub.ActivateAutomation(
        pb.ActivateAutomationRequest(automation_id=created.automation_id), metadata=project.auth
    )


async def track(
    profiles: profiles_pb2_grpc.ProfileServiceStub,
    project: ProjectKey,
    custom_id: str,
    name: str,
    **values: Any,
) -> None:
    properties = {
        key: common_pb2.AttributeValue(number_value=value)
        if isinstance(value, int | float)
        else common_pb2.AttributeValue(string_value=value)
        for key, value in values.items()
    }
    await profiles.TrackEvents(
        profiles_pb2.TrackEventsRequest(
            events=[
                profiles_pb2.TrackedEvent(
                    profile=common_pb2.ProfileRef(custom_id=custom_id), name=name, attributes=properties
                )
            ]
        ),
        metadata=project.auth,
    )


def subjects_to(sparkpost: Any, address: str) -> list[str]:
    """The subjects of the emails the emulator accepted for ``address``, in order."""
    return [record["subject"] for record in sparkpost.accepted if record["email"] == address]


@contextlib.asynccontextmanager
async def timer_kernel(settings: Settings, sparkpost: Any) -> AsyncIterator[RunningServer]:
    """A kernel of the test's own, polling for timers often, sending to the SparkPost emulator."""
    async with other_kernel(settings) as kernel:
        kernel.kernel.senders.endpoints[SPARKPOST] = sparkpost.endpoint
        yield kernel


async def sent_once_by_two_kernels(
    settings: Settings, sparkpost: Any, addresses: list[str], what: str
) -> None:
    """Two kernels of the test's own run the pending timers until each address got an email: each got
    exactly one (``what``: the timers' run, for the failure message)."""
    async with timer_kernel(settings, sparkpost), timer_kernel(settings, sparkpost):

        async def all_sent() -> bool:
            return len(sparkpost.accepted) >= len(addresses)

        await until(all_sent, what)
        await asyncio.sleep(0.3)  # a second run, were there one, would send now
    assert Counter(record["email"] for record in sparkpost.accepted) == dict.fromkeys(addresses, 1)
