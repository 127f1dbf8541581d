"""A "where is my order" bot for chatserver: it answers chats on the agent socket.

It signs in with an API token of its own agent account (role `agent`), says it is available,
and for every conversation the server assigns to it: greets the visitor, answers questions
about their orders from the customer's record (asking for the order number and the email used,
and verifying the purchase as an agent would, when the chat is not yet linked to a customer),
and hands the chat over to a person when the visitor asks for one. See docs/bots.md.

    CHATSERVER_URL=http://127.0.0.1:8000 CHATSERVER_BOT_TOKEN=... python examples/order_bot.py
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import websockets

HANDOVER = re.compile(r"\b(agent|human|person|people|someone|somebody|operator|refund\w*)\b",
                      re.IGNORECASE)
ORDER_TALK = re.compile(r"\b(order|parcel|package|delivery|deliver\w*|ship\w*|track\w*|"
                        r"arriv\w*|purchase\w*|bought)\b", re.IGNORECASE)
ORDER_NUMBER = re.compile(r"#\s*([A-Za-z0-9-]+)|\b(\d{3,})\b")
EMAIL = re.compile(r"[^\s@,;<>]+@[^\s@,;<>]+\.[A-Za-z]{2,}")
ZERO_DECIMAL = {"JPY", "KRW", "VND", "CLP", "ISK"}  # the few common currencies without cents
THREE_DECIMAL = {"BHD", "KWD", "OMR", "JOD", "TND"}
MESSAGES_PER_SECOND = 5  # our own pace, well under what a person would notice


@dataclass
class Chat:
    """What the bot knows of one conversation assigned to it."""

    id: int
    visitor_name: str
    customer_id: int | None
    answered_seq: int = 0  # the last visitor message already dealt with
    order_number: str | None = None  # given by the visitor, not yet verified
    email: str | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class OrderBot:
    def __init__(self, url: str, token: str) -> None:
        self.ws_url = url.replace("http", "ws", 1).rstrip("/") + "/ws/agent"
        self.token = token
        self.api = httpx.AsyncClient(base_url=url, timeout=10,
                                     headers={"Authorization": f"Bearer {token}"})
        self.socket: Any = None
        self.me: int | None = None
        self.team: list[dict[str, Any]] = []
        self.chats: dict[int, Chat] = {}
        # handed over: the bot never writes in these again, even when one comes back to it
        self.handed_over: set[int] = set()
        self.waiting_for_person: list[int] = []  # came back: nobody was free; oldest first
        self.transferring: set[int] = set()  # a transfer sent, its outcome not yet heard
        self.unacked: dict[str, dict[str, Any]] = {}  # client_id -> frame, resent on reconnect
        self.sent_at: list[float] = []
        self.tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` beside the socket's loop, so a slow lookup holds up no other chat."""
        task = asyncio.create_task(work)
        self.tasks.add(task)  # kept until done, else it could be garbage-collected
        task.add_done_callback(self.tasks.discard)

    # --- the socket ------------------------------------------------------------------------
    async def run(self) -> None:
        """Connect, and reconnect after a drop with a growing pause, until signed out."""
        pause = 1.0
        while True:
            try:
                async with websockets.connect(
                        self.ws_url, additional_headers={"Authorization": f"Bearer {self.token}"}
                ) as socket:
                    self.socket = socket
                    pause = 1.0
                    async for raw in socket:
                        await self.on_frame(json.loads(raw))
            except websockets.ConnectionClosed as closed:
                if closed.rcvd is not None and closed.rcvd.code == 4001:
                    print("signed out (token revoked or account changed); stopping")
                    return
            except OSError as error:
                print(f"cannot reach the server: {error}")
            self.socket = None
            await asyncio.sleep(pause)
            pause = min(pause * 2, 30)

    async def send(self, frame: dict[str, Any]) -> None:
        """Send now if connected; a message stays in `unacked` until the server has it."""
        if self.socket is None:
            return
        with contextlib.suppress(websockets.ConnectionClosed):  # the reconnect resends
            await self.socket.send(json.dumps(frame))

    async def say(self, chat: Chat, text: str) -> None:
        await self.pace()
        client_id = f"bot-{uuid.uuid4()}"  # unique for ever: the server dedupes by it
        frame = {"type": "message", "conversation_id": chat.id, "client_id": client_id,
                 "text": text}
        self.unacked[client_id] = frame
        await self.send(frame)

    async def pace(self) -> None:
        """At most MESSAGES_PER_SECOND messages a second over all chats; no wait below it."""
        now = time.monotonic()
        self.sent_at = [t for t in self.sent_at if now - t < 1]
        if len(self.sent_at) >= MESSAGES_PER_SECOND:
            await asyncio.sleep(1 - (now - self.sent_at[0]))
        self.sent_at.append(time.monotonic())

    # --- frames from the server ------------------------------------------------------------
    async def on_frame(self, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if kind == "welcome":
            self.me = frame["agent"]["id"]
            await self.send({"type": "presence", "status": "available"})
            for frame_ in list(self.unacked.values()):  # same client_id: stored once
                await self.send(frame_)
            for conversation in frame["conversations"]:
                self.took(conversation)
        elif kind == "assigned":
            self.took(frame["conversation"])
        elif kind == "team":
            self.team = frame["agents"]
            await self.pass_on_waiting()
        elif kind == "ack":
            self.unacked.pop(frame["client_id"], None)
        elif kind == "error":
            print(f"server said: {frame}")
            if frame.get("code") in ("forbidden", "not_found", "bad_request", "too_large"):
                self.unacked.pop(frame.get("client_id", ""), None)  # sending again won't help
            elif frame.get("code") == "conflict":  # the person chosen was no longer free
                for cid in list(self.transferring):
                    self.transferring.discard(cid)
                    if cid not in self.waiting_for_person:  # a first hand-over: the queue then
                        await self.transfer(cid, None)  # (a waiting one: on the next `team`)
        elif kind == "unassigned":
            cid = frame["conversation_id"]
            self.chats.pop(cid, None)
            # a transfer to the queue that came back may be heard `assigned` first: keep it
            gone = frame["reason"] != "transferred" or cid in self.transferring
            if gone and cid in self.waiting_for_person:
                self.waiting_for_person.remove(cid)
            self.transferring.discard(cid)
        elif kind == "customer" and frame["conversation_id"] in self.chats:
            self.chats[frame["conversation_id"]].customer_id = frame["customer_id"]
        elif kind == "message" and frame.get("author", {}).get("role") == "visitor":
            chat = self.chats.get(frame["conversation_id"])
            if chat is not None:
                self.spawn(self.answer(chat))

    def took(self, conversation: dict[str, Any]) -> None:
        """A conversation is ours (new, or listed again after a reconnect)."""
        cid = conversation["id"]
        self.transferring.discard(cid)
        if cid in self.handed_over:
            if cid not in self.waiting_for_person:  # a transfer to the queue came back
                self.waiting_for_person.append(cid)
                self.spawn(self.tell_nobody_is_free(cid))
            return
        chat = self.chats.get(cid)
        if chat is None:
            # after a restart, or a chat a person passed on: take it up after the last answer
            answers = [m["seq"] for m in conversation["messages"]
                       if m["author"]["role"] == "agent" and not m.get("private")]
            chat = Chat(cid, conversation["visitor"]["name"] or "there",
                        conversation["customer_id"], answered_seq=max(answers, default=0))
            self.chats[cid] = chat
            if not answers:
                self.spawn(self.greet(chat))
        self.spawn(self.answer(chat))  # what the visitor wrote while we were away

    # --- the conversation ------------------------------------------------------------------
    async def greet(self, chat: Chat) -> None:
        async with chat.lock:
            if chat.id not in self.handed_over:
                await self.say(chat, f"Hi {chat.visitor_name}! I'm the shop's order "
                                     "assistant. I can tell you where your order is; write "
                                     "'person' at any time to reach someone from the team.")

    async def answer(self, chat: Chat) -> None:
        """Answer every visitor message not yet answered, together, in one go."""
        async with chat.lock:
            history = await self.api.get(f"/api/conversations/{chat.id}")
            if history.status_code != 200 or chat.id not in self.chats:
                return
            new = [m for m in history.json()["messages"] if m["author"]["role"] == "visitor"
                   and not m["private"] and m["seq"] > chat.answered_seq]
            if not new or chat.id in self.handed_over:
                return
            chat.answered_seq = new[-1]["seq"]
            await self.reply(chat, " ".join(m["text"] for m in new))

    async def reply(self, chat: Chat, text: str) -> None:
        if HANDOVER.search(text):
            await self.hand_over(chat)
            return
        number = ORDER_NUMBER.search(text)
        email = EMAIL.search(text)
        if number:
            chat.order_number = number.group(1) or number.group(2)
        if email:
            chat.email = email.group(0)
        if chat.customer_id is not None and (number or ORDER_TALK.search(text)):
            await self.tell_orders(chat, number and chat.order_number)
        elif chat.order_number and chat.email:
            await self.verify(chat)
        elif chat.order_number:
            await self.say(chat, f"Thanks! And which email address did you use for order "
                                 f"{chat.order_number}?")
        elif chat.email or ORDER_TALK.search(text):
            await self.say(chat, "I can look that up. What is your order number, and the email "
                                 "address you used when you bought it?")
        else:
            await self.say(chat, "I can only help with orders, I'm afraid. Ask me where your "
                                 "order is, or write 'person' to talk to the team.")

    async def verify(self, chat: Chat) -> None:
        """Prove the visitor bought the order, as an agent does: number and email must match."""
        found = await self.api.post(f"/api/conversations/{chat.id}/verify",
                                    json={"order": chat.order_number, "email": chat.email})
        number, chat.order_number, chat.email = chat.order_number, None, None
        if found.status_code == 404:
            await self.say(chat, "I couldn't find an order with that number and email. Could "
                                 "you check both and send them again?")
        elif found.status_code == 200:
            chat.customer_id = found.json()["customer_id"]
            await self.tell_orders(chat, number)
        else:
            await self.say(chat, "Sorry, I can't look orders up right now. Write 'person' and "
                                 "someone from the team will help.")

    async def tell_orders(self, chat: Chat, number: str | None) -> None:
        found = await self.api.get(f"/api/customers/{chat.customer_id}")
        if found.status_code != 200:
            await self.say(chat, "Sorry, I can't look orders up right now. Write 'person' "
                                 "and someone from the team will help.")
            return
        orders = sorted(found.json()["orders"], key=lambda o: o["purchased_at"], reverse=True)
        asked = [o for o in orders if number is None or o["external_id"] == number]
        if not asked:
            await self.say(chat, f"I don't see an order {number} on your account. Your orders: "
                                 + ", ".join(o["external_id"] for o in orders) + ".")
        else:
            await self.say(chat, " ".join(describe(o) for o in asked[:3]))

    async def hand_over(self, chat: Chat) -> None:
        """Transfer to a free person, else to the queue; never write in the chat again."""
        person = self.free_person()
        await self.say(chat, f"Of course. {person['name']} will take it from here and can see "
                             "everything we've said." if person else
                             "Of course, let me find someone from the team for you.")
        self.handed_over.add(chat.id)
        await self.transfer(chat.id, person["id"] if person else None)

    async def transfer(self, conversation_id: int, to_agent_id: int | None) -> None:
        self.transferring.add(conversation_id)
        await self.send({"type": "transfer", "conversation_id": conversation_id,
                         "to_agent_id": to_agent_id})

    async def tell_nobody_is_free(self, conversation_id: int) -> None:
        chat = self.chats.get(conversation_id) or Chat(conversation_id, "", None)
        await self.say(chat, "Everyone on the team is busy right now, so you are first in "
                             "line: the first person free will take over here, with "
                             "everything we've said. You don't need to stay on this page to "
                             "keep your place.")
        await self.pass_on_waiting()

    async def pass_on_waiting(self) -> None:
        """Hand the chats that came back to people as they become free, oldest first."""
        for cid in self.waiting_for_person:
            person = self.free_person()
            if person is None:
                return
            if cid not in self.transferring:
                person["load"] += 1  # until the next `team` frame says so
                await self.transfer(cid, person["id"])

    def free_person(self) -> dict[str, Any] | None:
        free = [a for a in self.team if a["id"] != self.me and a["online"]
                and a["status"] == "available" and a["load"] < a["capacity"]]
        return min(free, key=lambda a: a["load"] / a["capacity"], default=None)


def describe(order: dict[str, Any]) -> str:
    """'Order 1042 (Course Pro, 149.00 USD) was paid on Nov 14, 2026.'"""
    digits = 0 if order["currency"] in ZERO_DECIMAL else 3 if order[
        "currency"] in THREE_DECIMAL else 2
    amount = f"{order['amount_cents'] / 10 ** digits:,.{digits}f} {order['currency']}"
    day = datetime.fromisoformat(order["purchased_at"].replace("Z", "+00:00")).astimezone(UTC)
    when = f"{day:%b} {day.day}, {day.year}"
    status = order["status"] or "paid"
    what = (f"was paid on {when}" if status == "paid" else
            f"was refunded (bought on {when})" if status == "refunded" else
            f"is {status} (bought on {when})")
    return f"Order {order['external_id']} ({order['product']}, {amount}) {what}."


def main() -> None:
    bot = OrderBot(os.environ.get("CHATSERVER_URL", "http://127.0.0.1:8000"),
                   os.environ["CHATSERVER_BOT_TOKEN"])
    asyncio.run(bot.run())


if __name__ == "__main__":
    main()
