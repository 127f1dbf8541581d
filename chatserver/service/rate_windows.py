"""The rate-limit windows, in one place: this process's, or shared by every process through
Redis (`chatserver/ratelimit`), whoever counts asks here."""

from __future__ import annotations

import math
from dataclasses import dataclass

from chatserver.config import Settings
from chatserver.ratelimit import RateLimits, Window


@dataclass(frozen=True)
class RateWindows:
    visitor_messages: Window  # by visitor id
    new_visitors: Window  # by address
    transcripts_by_visitor: Window  # by visitor id
    transcripts_to: Window  # by address mailed
    downloads_by_visitor: Window  # by visitor id: their own transcript, zipped

    @classmethod
    def of(cls, settings: Settings, limits: RateLimits) -> RateWindows:
        return cls(limits.window("visitor_messages", settings.visitor_message_limit),
                   limits.window("new_visitors", settings.visitor_session_limit),
                   limits.window("transcripts_by_visitor", settings.transcript_email_limit),
                   limits.window("transcripts_to", settings.transcript_email_limit),
                   limits.window("downloads_by_visitor", settings.transcript_download_limit))


def try_again_in(seconds: float) -> str:
    """When a refused visitor may try again, in words."""
    if seconds <= 90:
        return f"try again in {max(1, math.ceil(seconds))} s"
    return f"try again in {math.ceil(seconds / 60)} min"
