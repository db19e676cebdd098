"""The README is a front page and the reference in docs/ is reachable and true to the code.

A newcomer's path: the two commands, then links; a link that leads nowhere, a doc nobody
links, or a contract page that no longer says what the engine does fails here."""
from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest

from calls.record import Disposition
from core import contract, errors, settings
from hotline import cli
from tickets import store as ticket_store
from tickets import workflow

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
COMMANDS = [
    "bash scripts/run.sh     # run the hotline: Asterisk 22 + engine + HTTP API + demo agents' SIP phones, SQLite",
    "bash scripts/test.sh    # run the whole test suite: unit + real Asterisk end-to-end, SQLite and PostgreSQL",
]
LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def prose(text: str) -> str:
    """The text outside fenced code blocks (a link inside a code sample is not a link)."""
    return re.sub(r"(?ms)^```.*?^```", "", text)


def anchors(text: str) -> set[str]:
    """GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens."""
    out = set()
    for heading in re.findall(r"(?m)^#+ (.+)$", prose(text)):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        out.add(slug)
    return out


def pages() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def section(text: str, starts: str) -> str:
    """The bullet of the contract page that starts with `starts`, up to the next bullet."""
    m = re.search(rf"(?ms)^- {re.escape(starts)}.*?(?=^- |\Z)", text)
    assert m, f"no bullet starting {starts!r}"
    return m.group(0)


def test_readme_is_a_front_page_that_starts_with_the_two_commands():
    lines = README.read_text().splitlines()
    assert len(lines) < 200
    assert lines[0] == "# hotline"
    body = [line for line in lines[1:] if line.strip()]
    assert body[:4] == ["```sh", *COMMANDS, "```"]


def test_every_doc_is_linked_from_the_readme():
    linked = {(README.parent / target.split("#")[0]).resolve() for _, target in LINK.findall(prose(README.read_text()))
              if not re.match(r"[a-z]+:", target)}
    docs = set(DOCS.glob("*.md"))
    assert docs, "docs/ is empty"
    missing = sorted(p.name for p in docs if p.resolve() not in linked)
    assert not missing, f"docs not reachable from the README: {missing}"


def test_every_relative_link_resolves_to_a_file_and_heading():
    broken = []
    for page in pages():
        for text, target in LINK.findall(prose(page.read_text())):
            if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            dest = (page.parent / path).resolve() if path else page
            if not dest.exists():
                broken.append(f"{page.relative_to(ROOT)}: [{text}]({target}): no such file")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest.read_text()):
                broken.append(f"{page.relative_to(ROOT)}: [{text}]({target}): no such heading")
    assert not broken, "\n".join(broken)


def test_every_repository_path_the_docs_name_exists():
    """`tickets/workflow.py`, `reports/` ...: a path into the tree is still right after a move."""
    tops = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()} | {"scripts", "docs", ".ci"}
    stale = []
    for page in pages():
        for token in re.findall(r"`([^`\s]+)`", page.read_text()):
            if re.fullmatch(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/?", token) and token.split("/")[0] in tops \
                    and "/" in token and not (ROOT / token).exists():
                stale.append(f"{page.relative_to(ROOT)}: {token}")
    assert not stale, "\n".join(stale)


def test_driving_calls_is_linked_under_its_title():
    page = (DOCS / "driving-calls.md").read_text()
    title = page.splitlines()[0].removeprefix("# ")
    assert title == "Driving calls (stable contract for outside tools)"
    assert (title, "docs/driving-calls.md") in LINK.findall(README.read_text())
    assert "This section is a contract: tools outside this repository rely on it." in page


@pytest.fixture
def info(monkeypatch, capsys) -> dict:
    """What `hotline info --json` prints on a fresh install with default settings."""
    for name in [k for k in __import__("os").environ if k.startswith("HOTLINE_")]:
        monkeypatch.delenv(name)
    with tempfile.TemporaryDirectory() as home:
        assert cli.main(["--home", home, "info", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_documented_info_block_is_what_hotline_info_prints(info):
    page = (DOCS / "driving-calls.md").read_text()
    block = re.search(r"`hotline info --json` prints\s*```json\n(.*?)```", page, re.S)
    assert block, "the `hotline info --json` block is gone"
    documented = json.loads(block.group(1).replace("…", "SECRET"))
    assert set(documented) == set(info)
    assert set(documented["ami"]) == set(info["ami"])
    assert info["ami"]["secret"] and info["ami"]["secret"] != "SECRET"
    documented["ami"]["secret"] = info["ami"]["secret"]
    assert documented == info


def test_the_originate_contract_names_the_contexts_and_variables_the_dialplan_has():
    page = (DOCS / "driving-calls.md").read_text()
    network = section(page, "A call from the network")
    assert f"context `{contract.INBOUND}`" in network and "`Exten` = the\n  dialled number" in network
    exact = section(page, "A call with an exact caller number")
    assert (f"`Originate Channel=Local/s@{contract.SIM_CALLER} Context={contract.SIM_TRUNK} Exten=<number>`"
            in exact)
    for var in (contract.V_SIM_CID, contract.V_SIM_DTMF, contract.V_SIM_WAIT, contract.V_SIM_TALK):
        assert f"`{var}=" in exact, var
    assert "`ChannelId=<id>` to choose the call's linkedid" in exact


def test_the_documented_roles_and_dispositions_are_the_engines():
    page = (DOCS / "driving-calls.md").read_text()
    roles = re.search(r"\(roles: ([a-z,\s]+)\)", section(page, "`hotline token create")).group(1)
    assert tuple(re.split(r",\s+", roles)) == ticket_store.ROLES == workflow.ROLES
    tickets = section(page, "`GET /api/v1/tickets?")
    documented = set(re.findall(r"`([a-z_]+)`", tickets.split("`disposition` is one of", 1)[1]
                                                     .split("Callbacks and surveys")[0]))
    assert documented == {d.value for d in Disposition}


def _errors() -> dict[str, int]:
    found, todo = {}, [errors.HotlineError]
    while todo:
        cls = todo.pop()
        found[cls.id] = cls.status
        todo.extend(cls.__subclasses__())
    return found


def test_every_documented_error_id_exists_with_its_status():
    bullet = section((DOCS / "driving-calls.md").read_text(), "Errors are JSON")
    documented: dict[str, int] = {}
    pending: list[str] = []
    for ident, status in re.findall(r"`([a-z-]+)`|\((\d{3})\)", bullet.split("`:", 1)[1]):
        if ident:
            pending.append(ident)
        else:
            documented.update(dict.fromkeys(pending, int(status)))
            pending = []
    assert not pending, f"error ids without a status: {pending}"
    assert len(documented) == 10
    known = _errors()
    assert {i: known.get(i) for i in documented} == documented


def test_the_api_page_lists_every_route_with_its_roles(tmp_path):
    from hotline.app import Engine
    s = settings.load(env={}, home=str(tmp_path), asterisk_root=str(tmp_path / "root"))
    app = Engine(s, phones=False).http
    rows = re.findall(r"(?m)^\| (GET|POST|PUT|PATCH|DELETE) \| `([^`]+)` \| ([^|]+) \|", (DOCS / "api.md").read_text())
    listed = {(m, p): r.strip() for m, p, r in rows}
    served = {}
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        path, handler = route.resource.canonical, route.handler
        if not path.startswith("/api/"):
            served[(route.method, path)] = ("session (logged-in person)" if getattr(handler, "session", False)
                                            else "none (page or health)")
        elif getattr(handler, "public", False):
            served[(route.method, path)] = "public"
        else:
            served[(route.method, path)] = ", ".join(sorted(handler.roles))
    assert listed == served
