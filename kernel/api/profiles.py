"""ProfileService, assembled from one mixin per concern so that each stays a small module:
profile data and identity (:mod:`kernel.api.profile_data`), event ingestion (:mod:`kernel.api.events`),
GDPR (:mod:`kernel.api.privacy`) and bulk import (:mod:`kernel.api.imports`).
"""

from __future__ import annotations

from herald.v1 import profiles_pb2_grpc
from kernel.api.events import EventRpcs
from kernel.api.imports import ImportRpcs
from kernel.api.privacy import PrivacyRpcs
from kernel.api.profile_data import ProfileDataRpcs
from kernel.app import Kernel


class ProfileServicer(
    ProfileDataRpcs, EventRpcs, PrivacyRpcs, ImportRpcs, profiles_pb2_grpc.ProfileServiceServicer
):
    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.setup_events()
        self.setup_upserts()
        self.setup_privacy()
