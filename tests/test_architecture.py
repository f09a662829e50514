"""Where things live (issue 13, ARCHITECTURE.md): no app imports another app's views, no app reads
another app's models through ``apps.get_model`` outside migrations, and no code slices a region code
to find its parent (registry/codes.py does)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ["accounts", "registry", "survey", "care", "audit", "config", "workflow"]


# The root URLconf wires every app's views; nothing else may import another app's.
WIRING = {ROOT / "config" / "urls.py"}


def _sources():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield app, path


@pytest.mark.parametrize(("app", "path"), list(_sources()), ids=lambda v: str(v).rsplit("/main/", 1)[-1])
def test_no_reach_into_another_app(app, path):
    text = path.read_text(encoding="utf-8")
    views = re.findall(r"^from (\w+)(?:\.\w+)*\.views\w* import|^from (\w+) import views\w*", text, re.M)
    foreign_views = {a or b for a, b in views} - {app, "django"}
    assert foreign_views == (set() if path not in WIRING else foreign_views), path
    assert re.findall(r"apps\.get_model\(", text) == [], path


@pytest.mark.parametrize(("app", "path"), list(_sources()), ids=lambda v: str(v).rsplit("/main/", 1)[-1])
def test_no_region_code_is_sliced_into_a_parent(app, path):
    text = path.read_text(encoding="utf-8")
    sliced = re.findall(r"\[:(?:4|6|9)\]\s*\+\s*\"0+\"|\[:(?:4|6|9)\]\.ljust\(12", text)
    assert sliced == [], path
