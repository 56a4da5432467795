"""MessageService: sending messages."""

from __future__ import annotations

import grpc

from herald.v1 import messages_pb2 as pb
from herald.v1 import messages_pb2_grpc
from kernel.api.status import rpc
from kernel.auth import Authenticator, Caller
from kernel.delivery.transactional import TransactionalSender


class MessageServicer(messages_pb2_grpc.MessageServiceServicer):
    def __init__(self, transactional: TransactionalSender, auth: Authenticator) -> None:
        self.transactional = transactional
        self.auth = auth

    @rpc()
    async def SendTransactional(
        self, request: pb.SendTransactionalRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.SendTransactionalResponse:
        return await self.transactional.send(caller.project, request)
