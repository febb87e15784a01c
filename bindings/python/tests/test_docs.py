"""What `help()` shows: a docstring for every public member, and the one-liners
Python shares with Node (docs/api/one-liners.toml) as compiled into the module."""

from __future__ import annotations

import pydoc
import re
from pathlib import Path

import pytest
import tomllib

import cortiauth

ONE_LINERS = Path(__file__).resolve().parents[3] / "docs" / "api" / "one-liners.toml"
SHOWN_BY_HELP = (
    "get_access_token",
    "get_access_token_async",
    "headers",
    "invalidate",
    "on_response",
    "set_client_secret",
    "describe",
    "from_env",
)


def public_members(cls: type) -> list[str]:
    return [name for name in dir(cls) if not name.startswith("_")]


@pytest.mark.parametrize("cls", [cortiauth.TokenManager, cortiauth.Token])
def test_every_public_member_has_a_docstring(cls: type) -> None:
    missing = [n for n in public_members(cls) if not (getattr(cls, n).__doc__ or "").strip()]
    assert missing == []
    assert (cls.__doc__ or "").strip()


def test_help_shows_every_public_method_with_its_docstring() -> None:
    page = pydoc.render_doc(cortiauth.TokenManager, renderer=pydoc.plaintext)
    for name in SHOWN_BY_HELP:
        doc = getattr(cortiauth.TokenManager, name).__doc__.strip().splitlines()[0].strip()
        assert name in page
        assert doc in page, name


@pytest.mark.skipif(not ONE_LINERS.exists(), reason="needs the source tree")
def test_the_shared_one_liners_are_what_help_shows() -> None:
    members = tomllib.loads(ONE_LINERS.read_text())["member"]
    owners = {"TokenManager": cortiauth.TokenManager, "Token": cortiauth.Token, "module": cortiauth}
    for member in members:
        doc = " ".join(getattr(owners[member["class"]], member["python"]).__doc__.split())
        want = member["doc"].replace("{none}", "`None`")
        end = re.search(r"\.(\s|$)", doc)
        assert end is not None, member["python"]
        assert doc[: end.start() + 1] == want, member["python"]
    assert len(members) >= 20
