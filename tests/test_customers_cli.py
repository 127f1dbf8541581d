"""`chatserver customers export|erase` as an admin runs them: separate processes, the JSON
document on standard output or in a file, one-line errors with exit status 2."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from chatserver.domain.attachments import NewAttachment
from chatserver.domain.models import Author
from chatserver.store import Store
from tests.attachment_files import PDF
from tests.conftest import chatserver, on_store

SAID = "the parcel for Wombatstrasse 3"


async def maya(store: Store) -> int:
    """Maya, signed in on the shop, in a chat now closed."""
    visitor, token = await store.create_visitor({"name": "Maya"})
    visitor = await store.verify_visitor(visitor, token, "u-7", "maya@example.com", "Maya Lin")
    posted = await store.post_visitor_message(Author("visitor", "Maya", visitor.id), "c1",
                                              SAID, None)
    await store.close_conversation(posted.message.conversation_id, "visitor", "closed")
    assert visitor.customer_id is not None
    return visitor.customer_id


def test_a_customer_is_exported_to_standard_output_or_a_file(tmp_path: Path,
                                                             db_url: str) -> None:
    customer_id = on_store(db_url, maya)
    printed = chatserver("customers", "export", str(customer_id), "--db", db_url)
    assert printed.returncode == 0, printed.stderr
    document = json.loads(printed.stdout)
    assert document["customer"]["email"] == "maya@example.com"
    [conversation] = document["conversations"]
    assert SAID in [m["text"] for m in conversation["messages"]]
    out = tmp_path / "maya.json"
    written = chatserver("customers", "export", str(customer_id), "--out", str(out),
                         "--db", db_url)
    assert (written.returncode, written.stdout) == (0, "")
    assert json.loads(out.read_text(encoding="utf-8")) == document


async def maya_with_a_file(store: Store) -> int:
    """Maya, signed in, who sent her receipt in a chat."""
    visitor, token = await store.create_visitor({"name": "Maya"})
    visitor = await store.verify_visitor(visitor, token, "u-7", "maya@example.com", "Maya Lin")
    kept = await store.save_attachment(NewAttachment("visitor", visitor.id, "receipt.pdf",
                                                     "application/pdf", PDF))
    await store.post_visitor_message(Author("visitor", "Maya", visitor.id), "c1", SAID, None,
                                     attachment_id=kept.id)
    assert visitor.customer_id is not None
    return visitor.customer_id


def test_a_customer_is_exported_as_a_zip_with_the_files(tmp_path: Path, db_url: str) -> None:
    customer_id = on_store(db_url, maya_with_a_file)
    out = tmp_path / "maya.zip"
    written = chatserver("customers", "export", str(customer_id), "--zip", str(out),
                         "--db", db_url)
    assert (written.returncode, written.stdout) == (0, ""), written.stderr
    document = json.loads(chatserver("customers", "export", str(customer_id),
                                     "--db", db_url).stdout)
    [message] = document["conversations"][0]["messages"]
    with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as archive:
        assert archive.namelist() == [f"customer-{customer_id}-export.json",
                                      f"attachments/{message['attachment']['id']}-receipt.pdf"]
        assert json.loads(archive.read(f"customer-{customer_id}-export.json")) == document
        assert archive.read(archive.namelist()[1]) == PDF
    both = chatserver("customers", "export", str(customer_id), "--zip", str(out),
                      "--out", str(tmp_path / "x.json"), "--db", db_url)
    assert both.returncode == 2 and len(both.stderr.splitlines()) == 1


def test_a_customer_is_erased_with_a_reason_and_a_second_erase_is_harmless(
        db_url: str) -> None:
    customer_id = on_store(db_url, maya)
    for _ in range(2):
        erased = chatserver("customers", "erase", str(customer_id), "--reason",
                            "asked by email", "--db", db_url)
        assert erased.returncode == 0, erased.stderr
        assert erased.stdout == f"customer {customer_id} erased: 1 visitors, 1 conversations\n"
    document = json.loads(chatserver("customers", "export", str(customer_id),
                                     "--db", db_url).stdout)
    assert (document["customer"]["email"], document["customer"]["name"]) == (None, None)
    assert {m["text"] for m in document["conversations"][0]["messages"]} == {"[erased]"}
    assert document["audit"][-1]["detail"]["reason"] == "asked by email"


def test_bad_arguments_get_one_line_and_status_2(db_url: str) -> None:
    customer_id = on_store(db_url, maya)
    for args in (["export", "x"], ["export", "0"], ["export", str(customer_id + 1)],
                 ["erase", str(customer_id)], ["erase", str(customer_id), "--reason", " "],
                 ["erase", str(customer_id + 1), "--reason", "asked"]):
        result = chatserver("customers", *args, "--db", db_url)
        assert result.returncode == 2, (args, result.stdout)
        assert len(result.stderr.splitlines()) == 1, (args, result.stderr)
