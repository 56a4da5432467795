"""Campaigns: content, audience and schedule, each occurrence released as a bulk send by the scheduler."""

from kernel.engage.campaigns.occurrences import OccurrenceRunner
from kernel.engage.campaigns.sending import CampaignSender
from kernel.engage.campaigns.service import OCCURRENCE, Campaigns

__all__ = ["OCCURRENCE", "CampaignSender", "Campaigns", "OccurrenceRunner"]
