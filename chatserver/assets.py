"""Where the console templates, the widget source and the static files are.

In a source checkout (and an editable install) they are the top-level `console/`, `widget/`
and `static/` folders; a regular install copies them into the package (see pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def asset_dir(name: str) -> Path:
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"the {name}/ folder is missing from this installation")
