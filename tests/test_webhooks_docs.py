"""The signature checks docs/webhooks.md gives receivers (Python and JavaScript) accept what
the server signs and refuse anything else: run as written, on the Standard Webhooks example."""

from __future__ import annotations

import re
import subprocess
import types
from pathlib import Path
from typing import Any

import playwright

from chatserver.domain.webhooks import signature

DOC = (Path(__file__).parent.parent / "docs" / "webhooks.md").read_text()
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SENT_AT = 1614265330
BODY = b'{"test": 2432232314}'
NODE = Path(playwright.__file__).parent / "driver" / "node"  # a test dependency's own Node


def block(language: str) -> str:
    found = re.search(rf"```{language}\n(.*?)```", DOC, re.S)
    assert found is not None
    return found[1]


def headers(signed: str) -> dict[str, str]:
    return {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": str(SENT_AT),
            "webhook-signature": f"v1,bm90IHRoaXMgb25l {signed}"}


def test_the_python_check_accepts_the_servers_signature_and_nothing_else() -> None:
    namespace: dict[str, Any] = {}
    exec(block("python"), namespace)  # our own documentation's code, as written
    namespace["time"] = types.SimpleNamespace(time=lambda: SENT_AT + 10)
    verify = namespace["verify"]
    good = signature(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", SENT_AT, BODY)
    assert verify(SECRET, headers(good), BODY)
    assert not verify(SECRET, headers(good), BODY + b" ")
    assert not verify(SECRET, headers("v1,bm90IHRoaXMgb25l"), BODY)
    namespace["time"] = types.SimpleNamespace(time=lambda: SENT_AT + 301)
    assert not verify(SECRET, headers(good), BODY)


def test_the_javascript_check_does_the_same() -> None:
    good = signature(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", SENT_AT, BODY)
    script = block("js").replace("export function", "function") + f"""
Date.now = () => {(SENT_AT + 10) * 1000};
const headers = (s) => ({{"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
  "webhook-timestamp": "{SENT_AT}", "webhook-signature": "v1,bm90IHRoaXMgb25l " + s}});
const body = Buffer.from({BODY.decode()!r});
console.log(JSON.stringify([verify("{SECRET}", headers("{good}"), body),
  verify("{SECRET}", headers("{good}"), Buffer.concat([body, Buffer.from(" ")])),
  verify("{SECRET}", headers("v1,bm90IHRoaXMgb25l"), body)]));
"""
    ran = subprocess.run([str(NODE), "--input-type=module", "-e", script], capture_output=True,
                         text=True, timeout=30)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "[true,false,false]"
