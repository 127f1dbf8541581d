"""Signed links to attachments (domain/attachments.py's `link`), made fresh each time a
message is shown: never stored, so a link in an old frame simply expires."""

from __future__ import annotations

from chatserver.domain.attachments import claim_refusal, link
from chatserver.domain.clock import now
from chatserver.service.errors import ChatError
from chatserver.store import Store


class FileLinks:
    """The server's secret (SECRET_KEY, else the one kept in the database, which also signs
    console sessions: links stay valid across restarts and servers), known once loaded."""

    def __init__(self, secret: str | None) -> None:
        self._secret = secret

    async def load(self, store: Store) -> str:
        if self._secret is None:
            self._secret = await store.secret("secret_key")
        return self._secret

    def __call__(self, attachment_id: int) -> str:
        if self._secret is None:
            raise RuntimeError("attachment links are signed only once the secret is loaded")
        return link(self._secret, attachment_id, now())


async def refused_attachment(store: Store, attachment_id: int, kind: str,
                             holder_id: str) -> ChatError:
    """Why the store would not let a message carry this file, as the wire says it."""
    if claim_refusal(await store.attachment(attachment_id), kind, holder_id) == "conflict":
        return ChatError("conflict", f"attachment {attachment_id} was sent already; upload "
                         "the file again to send it again")
    return ChatError("forbidden", f"attachment {attachment_id} is not a file you uploaded")
