"""What is particular to the in-process bus (its behaviour is tests/bus/test_bus.py's)."""

from __future__ import annotations

import pytest

from chatserver.bus import open_bus
from chatserver.bus.memory import MemoryBus


def test_the_default_bus_url_gives_the_memory_bus() -> None:
    assert isinstance(open_bus("memory://"), MemoryBus)
    with pytest.raises(ValueError, match="no bus for a bus URL scheme"):
        open_bus("kafka://somewhere")
