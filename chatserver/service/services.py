"""The services a server runs, wired to one store and one bus: what the web layer calls."""

from __future__ import annotations

from dataclasses import dataclass

from chatserver.bus import Bus
from chatserver.config import Settings
from chatserver.mail import Mailer
from chatserver.online import VisitorsOnline
from chatserver.ratelimit import RateLimits
from chatserver.service.agent_desk import AgentDesk
from chatserver.service.announcer import Announcer
from chatserver.service.attachments import Attachments
from chatserver.service.commerce import Commerce
from chatserver.service.console import Console
from chatserver.service.desk import Desk
from chatserver.service.file_links import FileLinks
from chatserver.service.health import Health
from chatserver.service.missed_answers import MissedAnswers
from chatserver.service.news import ConversationNews
from chatserver.service.privacy import Privacy
from chatserver.service.rate_windows import RateWindows
from chatserver.service.site import Site
from chatserver.service.stripe_payments import StripePayments
from chatserver.service.supervision import Supervision
from chatserver.service.team import Team
from chatserver.service.transcripts import Transcripts
from chatserver.service.visitor_chat import VisitorChat
from chatserver.service.webhooks import Webhooks
from chatserver.store import Store


@dataclass(frozen=True)
class Services:
    site: Site
    visitor_chat: VisitorChat
    agent_desk: AgentDesk
    transcripts: Transcripts
    missed_answers: MissedAnswers
    commerce: Commerce
    stripe: StripePayments
    supervision: Supervision
    team: Team
    console: Console
    health: Health
    webhooks: Webhooks
    privacy: Privacy
    attachments: Attachments
    desk: Desk  # routing: started and stopped here, reached through the services above

    @classmethod
    def of(cls, settings: Settings, store: Store, bus: Bus, limits: RateLimits,
           online: VisitorsOnline) -> Services:
        links = FileLinks(settings.secret_key)
        desk = Desk(settings, store, Announcer(bus, links))
        news = ConversationNews(desk.announce, desk)
        site = Site(settings, store, bus, Mailer(settings.smtp_url))
        windows = RateWindows.of(settings, limits)
        missed = MissedAnswers(settings, store, site, online)
        agent_desk = AgentDesk(store, bus, desk, news, missed)
        console = Console(store, desk)
        stripe = StripePayments(settings, store, news)
        return cls(site=site,
                   visitor_chat=VisitorChat(settings, store, bus, desk, news, windows, missed),
                   agent_desk=agent_desk,
                   transcripts=Transcripts(store, site, windows),
                   missed_answers=missed,
                   commerce=Commerce(settings, store, desk, news, stripe),
                   stripe=stripe,
                   supervision=Supervision(store, agent_desk, news, settings.unanswered_alert),
                   team=Team(store, agent_desk),
                   console=console,
                   health=Health(settings, store),
                   webhooks=Webhooks(store, console, settings.webhooks_allow_private, links),
                   privacy=Privacy(store, desk.announce, settings.retention_days, desk.close),
                   attachments=Attachments(settings, store, links),
                   desk=desk)

    async def start(self) -> None:
        await self.attachments.links.load(self.attachments.store)  # before any message shows
        await self.site.start()
        await self.desk.start()
        self.supervision.start()
        self.webhooks.start()
        self.privacy.start()
        self.stripe.start()

    async def stop(self) -> None:
        await self.privacy.stop()
        await self.webhooks.stop()
        await self.stripe.stop()
        await self.supervision.stop()
        await self.missed_answers.stop()
        await self.site.stop()
        await self.desk.stop()
