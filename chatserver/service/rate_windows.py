"""This process's rate-limit windows, in one place: several servers will share them (see
SCALING.md), so whoever counts asks here."""

from __future__ import annotations

from dataclasses import dataclass

from chatserver.config import Settings
from chatserver.domain.limits import SlidingWindow


@dataclass(frozen=True)
class RateWindows:
    visitor_messages: SlidingWindow  # by visitor id
    new_visitors: SlidingWindow  # by address
    transcripts_by_visitor: SlidingWindow  # by visitor id
    transcripts_to: SlidingWindow  # by address mailed

    @classmethod
    def of(cls, settings: Settings) -> RateWindows:
        return cls(SlidingWindow(settings.visitor_message_limit),
                   SlidingWindow(settings.visitor_session_limit),
                   SlidingWindow(settings.transcript_email_limit),
                   SlidingWindow(settings.transcript_email_limit))
