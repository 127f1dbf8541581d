"""Summarise a py-spy raw profile (`python -m bench.run --profile DIR` writes them).

    python -m bench.profile DIR/server-main-throughput-w16.txt [--top 25] [--match TEXT]

Prints the functions with the most samples on top of the stack (self) and anywhere in it
(inclusive), as shares of all samples. Idle samples (the event loop waiting in epoll, the
writer thread waiting for work) count too, so the shares show where the process's time went.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter

FRAME = re.compile(r"^(?P<name>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def short(frame: str) -> str:
    match = FRAME.match(frame)
    if not match:
        return frame
    path = match["file"]
    for marker in ("site-packages/", "/chatserver/", "/lib/python3."):
        if marker in path:
            path = path.split(marker, 1)[1]
            if marker == "/chatserver/":
                path = "chatserver/" + path
            break
    return f"{match['name']} ({path}:{match['line']})" if match["line"] else (
        f"{match['name']} ({path})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("file")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--match", help="only stacks containing this text")
    args = parser.parse_args(argv)
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    with open(args.file) as raw:
        for line in raw:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            # py-spy now and then reads a frame's name garbled, a newline in it: the stack's
            # first half is then a line of its own with no count (the second still counts)
            if not stack or not count.isdigit() or (args.match and args.match not in stack):
                continue
            n = int(count)
            frames = [short(f) for f in stack.split(";")]
            total += n
            own[frames[-1]] += n
            for frame in set(frames):
                inclusive[frame] += n
    if not total:
        print("no samples")
        return 1
    for title, counter in (("self", own), ("inclusive", inclusive)):
        print(f"--- {title} ({total} samples)")
        for frame, n in counter.most_common(args.top):
            print(f"{100 * n / total:6.1f}%  {frame}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
