"""The agent's side of the chat: their messages and notes, read marks and typing, claims,
transfers and closing (routed by the Desk), presence, history, sessions, and the
supervisors' oversight of others' conversations.

The agent socket parses frames and calls these methods; a refused act raises `ChatError`
with the wire code and leaves nothing stored.
"""

from __future__ import annotations

from typing import Any

from chatserver.bus import Bus, Offer, Subscription
from chatserver.domain.models import Agent, Author, Message, Presence, Visitor
from chatserver.service.announcer import AGENTS, SUPERVISORS, agent_topic, conversation_card
from chatserver.service.desk import Desk
from chatserver.service.errors import ChatError, routed
from chatserver.service.file_links import refused_attachment
from chatserver.service.missed_answers import MissedAnswers
from chatserver.service.news import ConversationNews
from chatserver.store import Store
from chatserver.store.types import NotAllowed, NotSendable, OnCommit, Posted

AGENT_BACKLOG = 20_000  # events an agent connection may fall behind before it is cut off


class AgentDesk:
    def __init__(self, store: Store, bus: Bus, desk: Desk, news: ConversationNews,
                 missed_answers: MissedAnswers) -> None:
        self.store = store
        self.bus = bus
        self.desk = desk
        self.news = news
        self.missed_answers = missed_answers
        self.link = desk.announce.link  # signs the urls of the files messages carry

    # --- signing in and out ---------------------------------------------------------
    async def by_token(self, token: str) -> tuple[Agent | None, str, bool]:
        """An API token's agent, the session it opens (revoking the token ends it), and
        whether it is the shop's systems' token instead (which takes no chats)."""
        agent = await self.store.agent_by_token(token)
        session_id = f"token:{await self.store.token_id(token)}"
        integration = agent is None and await self.store.integration_by_token(token) is not None
        return agent, session_id, integration

    async def subscribe(self, agent: Agent, offer: Offer | None = None) -> Subscription:
        """The news for this agent's connection: theirs, the team's, and the supervisors'
        when they oversee."""
        topics = [agent_topic(agent.id), AGENTS]
        if agent.can_oversee:
            topics.append(SUPERVISORS)
        # an agent hears every conversation they hold: room for whole commit batches of them
        return await self.bus.subscribe(topics, capacity=AGENT_BACKLOG, offer=offer)

    async def connected(self, agent: Agent) -> dict[str, object]:
        """An agent connection is open; returns the queue as it stands for them."""
        await self.desk.agent_connected(agent)
        return self.desk.queue_frame()

    async def disconnected(self, agent: Agent) -> None:
        await self.desk.agent_disconnected(agent.id)

    async def end_sessions(self, agent_id: int, session_id: str | None = None,
                           kept: str | None = None) -> None:
        """Sign an agent out of one console session (None: everywhere but the session `kept`,
        API sockets too); the sockets that came from them close."""
        await self.store.end_sessions(agent_id, session_id, kept)
        self.news.announce.to_agent(agent_id, {"type": "signed_out", "session_id": session_id,
                                               "kept": kept})

    def token_revoked(self, agent_id: int, token_id: int) -> None:
        """The sockets opened with the token close now, not at their next reconnect."""
        self.news.announce.to_agent(agent_id, {"type": "signed_out",
                                               "session_id": f"token:{token_id}"})

    async def agent_changed(self, agent_id: int) -> None:
        """An admin changed the agent's account: routing takes it as stored now."""
        agent = await self.store.agent(agent_id)
        if agent is not None:  # changed, so stored (agents are disabled, never deleted)
            await self.desk.agent_changed(agent)

    # --- conversations --------------------------------------------------------------
    async def conversations(self, agent: Agent) -> list[dict[str, Any]]:
        """The agent's active conversations with messages and notes, for `welcome`."""
        return [conversation_card(conversation, self.desk.visitor_of.get(conversation.id),
                                  await self.store.messages(conversation.id, 0, notes=True),
                                  self.link)
                for conversation in await self.store.agent_conversations(agent.id)]

    async def message(self, agent: Agent, conversation_id: int, client_id: str, text: str,
                      private: bool, attachment_id: int | None = None,
                      acknowledge: OnCommit[Posted] = None) -> Posted:
        """Store and announce an agent's message or note; `acknowledge` as for a visitor's
        (ChatService.message)."""
        author = Author("agent", agent.name, str(agent.id))
        if not await self.desk.owns(conversation_id, agent.id) and not (
                private and await self.oversees(agent)):
            # a resend after the conversation closed or left them still gets its first ack
            first = await self.store.message_by_client_id(author, client_id)
            if first is None:
                raise ChatError("forbidden", "that conversation is not assigned to you")
            return Posted(first, duplicate=True)
        try:
            return await self.store.post_agent_message(
                conversation_id, author, client_id, text, private,
                on_commit=lambda p: self._posted(p, agent.id, acknowledge),
                attachment_id=attachment_id)
        except NotSendable:
            raise await refused_attachment(self.store, attachment_id or 0, "agent",
                                           str(agent.id)) from None
        except NotAllowed as error:
            raise ChatError("not_found", str(error)) from None

    def _posted(self, posted: Posted, agent_id: int,
                acknowledge: OnCommit[Posted]) -> None:
        self.news.posted(posted, also=agent_id)
        if acknowledge is not None:
            acknowledge(posted)
        if not posted.duplicate and not posted.message.private:
            self.missed_answers.answered(posted.message.conversation_id)

    async def typing(self, agent: Agent, conversation_id: int, active: bool,
                     private: bool) -> None:
        await self._assigned(agent, conversation_id)
        visitor = self.desk.visitor_of.get(conversation_id)
        if not private and visitor is not None:
            self.news.announce.to_visitor(visitor.id, {
                "type": "typing", "conversation_id": conversation_id, "role": "agent",
                "name": agent.name, "active": active})

    async def read(self, agent: Agent, conversation_id: int, seq: int) -> None:
        if self.desk.owner(conversation_id) != agent.id:
            conversation = await self.store.conversation(conversation_id)
            if conversation and conversation.status == "closed" and \
                    conversation.agent_id == agent.id:
                return  # a read mark crossing the close: nothing left to mark
        await self._assigned(agent, conversation_id)
        visitor = self.desk.visitor_of.get(conversation_id)
        mark = await self.store.mark_read(conversation_id, "agent", seq)
        self.news.read(conversation_id, "agent", mark, visitor.id if visitor else None)

    async def history(self, agent: Agent, conversation_id: int, last_seq: int) -> list[Message]:
        if not await self.in_charge(agent, conversation_id):
            raise ChatError("forbidden", "that conversation is not assigned to you")
        messages = await self.store.messages(conversation_id, last_seq, notes=True)
        if not messages and await self.store.conversation(conversation_id) is None:
            raise ChatError("not_found", f"no conversation {conversation_id}")
        return messages

    async def messages_after(self, conversation_id: int, seq: int, note_seq: int,
                             notes: bool) -> list[Message]:
        """The messages numbered after `seq` (and with `notes`, the notes after `note_seq`),
        in commit order: what a socket that heard of a later one has not been sent."""
        if not notes:
            return await self.store.messages(conversation_id, seq)
        # notes are not anchored to a seq: read them all and keep the later ones
        return [m for m in await self.store.messages(conversation_id, 0, notes=True)
                if ((m.note_seq or 0) > note_seq if m.private else (m.seq or 0) > seq)]

    async def presence(self, agent: Agent, status: Presence) -> Agent:
        return await self.desk.set_presence(agent, status)

    async def claim(self, agent: Agent, conversation_id: int) -> None:
        await routed(self.desk.claim(conversation_id, agent))

    async def transfer(self, agent: Agent, conversation_id: int, to_agent_id: int | None) -> None:
        await routed(self.desk.transfer(conversation_id, agent, to_agent_id))

    async def close(self, agent: Agent, conversation_id: int) -> None:
        await self._assigned(agent, conversation_id)
        await routed(self.desk.close(conversation_id, Author("agent", agent.name, str(agent.id))))

    def owner(self, conversation_id: int) -> int | None:
        """The agent in charge of the conversation now, if any."""
        return self.desk.owner(conversation_id)

    def visitor(self, conversation_id: int) -> Visitor | None:
        """The visitor of an open conversation."""
        return self.desk.visitor_of.get(conversation_id)

    # --- oversight ------------------------------------------------------------------
    async def in_charge(self, agent: Agent, conversation_id: int) -> bool:
        """Whether the agent holds the conversation, or oversees everyone's."""
        return await self.desk.owns(conversation_id, agent.id) or await self.oversees(agent)

    async def oversees(self, agent: Agent) -> bool:
        """Whether `agent` may act in others' conversations, by their role as stored now: a
        socket opened before a demotion (made here, by another process or the command line)
        keeps no old powers. Read only for those acts, not for an agent's own chats."""
        current = await self.store.agent(agent.id)
        return current is not None and not current.disabled and current.can_oversee

    async def _assigned(self, agent: Agent, conversation_id: int) -> None:
        if not await self.desk.owns(conversation_id, agent.id):
            raise ChatError("forbidden", "that conversation is not assigned to you")
