"""How every create reports a replayed call: the same answer, with the trailer ``herald-replayed: true``."""

from __future__ import annotations

from typing import TypeVar

import grpc

from kernel.request_ids import Answer

REPLAYED_KEY = "herald-replayed"
Message = TypeVar("Message")


def answer(context: grpc.aio.ServicerContext, result: Answer[Message]) -> Message:
    if result.replayed:
        context.set_trailing_metadata(((REPLAYED_KEY, "true"),))
    return result.message
