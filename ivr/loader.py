"""Load menu files into the model, and check them: every defect with its file and line.

`load_menu` never raises on a bad menu: it returns the problems, and the caller (the
engine's hot reload, `hotline ivr check`) decides. Errors block a menu; warnings (a
missing translation) do not.
"""
from __future__ import annotations

import hashlib
import re
import tomllib
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from core.centre import Centre

from ivr.model import (KB_KEY, LANGUAGES, PRIORITIES, TERMINAL, Action, Callback, Entry, Goto, Hangup, KbAnswer, Menu, Node,
                    Prompt, Say, SetLanguage, TicketStatus, ToDepartment)

FLOWS = Path(__file__).with_name("flows")
DTMF = set("0123456789*#")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str
    error: bool = True

    def __str__(self) -> str:
        kind = "error" if self.error else "warning"
        return f"{self.file}:{self.line}: {kind}: {self.message}"


class Lines:
    """Where a TOML table or key sits: tomllib keeps no positions, so scan the text."""

    _HEADER = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+\s*(?:#.*)?$")
    _KEY = re.compile(r'^\s*("[^"]*"|[A-Za-z0-9_.-]+)\s*=')

    def __init__(self, text: str):
        self.where: dict[tuple[str, str], int] = {}
        table = ""
        for no, line in enumerate(text.splitlines(), 1):
            if m := self._HEADER.match(line):
                table = m.group(1).replace('"', "")
                self.where.setdefault((table, ""), no)
                continue
            if m := self._KEY.match(line):
                key = m.group(1).strip('"')
                full = f"{table}.{key}" if table else key
                parent, _, last = full.rpartition(".")
                self.where.setdefault((parent, last), no)
                self.where.setdefault((full, ""), no)
                # inline tables: options = { "1" = {...}, ... } on one line
                for k in re.findall(r'"([^"]+)"\s*=\s*\{', line[m.end():]):
                    self.where.setdefault((full, k), no)

    def of(self, table: str, key: str = "") -> int:
        while True:
            if (table, key) in self.where:
                return self.where[(table, key)]
            if key:
                key = ""
            elif "." in table:
                table = table.rpartition(".")[0]
            else:
                return 1


def _action(raw, where: str, problems: list, file: str, lines: Lines) -> Action:
    """One action table -> Action; problems are recorded, a safe action is returned."""
    line = lines.of(*where.rsplit(".", 1)) if "." in where else lines.of(where)
    if not isinstance(raw, dict):
        problems.append(Problem(file, line, f"{where}: an action must be a table like {{ goto = \"main\" }}"))
        return Hangup()
    known = {"goto", "language", "department", "priority", "say", "kb", "fallback", "ticket_status", "callback",
             "hangup"}
    for k in set(raw) - known:
        problems.append(Problem(file, line, f"{where}: unknown action key {k!r}"))
    then: Action
    priority = raw.get("priority")
    if priority is not None and (priority not in PRIORITIES or "department" not in raw):
        problems.append(Problem(file, line, f"{where}: priority {priority!r} must be one of "
                                            f"{', '.join(PRIORITIES)}, given with a department"))
        priority = None
    if "department" in raw:
        then = ToDepartment(str(raw["department"]), priority)
    elif raw.get("callback"):
        then = Callback()
    elif raw.get("hangup"):
        then = Hangup()
    elif "goto" in raw:
        then = Goto(str(raw["goto"]))
    else:
        problems.append(Problem(file, line, f"{where}: action leads nowhere (no goto, department, "
                                            "callback or hangup): a dead end"))
        then = Hangup()
    if raw.get("ticket_status"):
        then = TicketStatus(then)
    if "kb" in raw or "fallback" in raw:
        then = _kb_action(raw, then, where, problems, file, line)
    if "say" in raw:
        then = Say(str(raw["say"]), then)
    if "language" in raw:
        then = SetLanguage(str(raw["language"]), then)
    return then


def _kb_action(raw: dict, then: Action, where: str, problems: list, file: str, line: int) -> Action:
    """{ kb = "<key>", fallback = "<prompt>", goto = ... }: the fallback is required so that a
    missing entry or a knowledge base that is away never leaves the caller in silence."""
    key, fallback = raw.get("kb"), raw.get("fallback")
    if "kb" not in raw:
        problem = "fallback belongs to a kb action (the prompt said when the knowledge base has no answer)"
    elif not isinstance(key, str) or not KB_KEY.fullmatch(key):
        problem = (f"kb {key!r} is not a knowledge-base key: 1-40 characters of a-z, 0-9, _ and -, "
                   "the tag ivr:<key> on the entries")
    elif not isinstance(fallback, str) or not fallback:
        problem = (f"kb {key!r} needs fallback = \"<prompt>\": what callers hear when the knowledge base "
                   "has no answer in their language or is unavailable")
    elif "say" in raw or raw.get("ticket_status"):
        problem = f"kb {key!r} cannot be combined with say or ticket_status: one announcement per action"
    else:
        return KbAnswer(key, fallback, then)
    problems.append(Problem(file, line, f"{where}: {problem}"))
    return then


def load_menu(path: Path, centre: Centre) -> tuple[Menu | None, list[Problem]]:
    try:
        return _load_menu(path, centre)
    except (TypeError, ValueError, AttributeError) as e:
        # valid TOML with a value of the wrong kind (a string where a table belongs...)
        return None, [Problem(path.name, 1, f"a value has the wrong type: {e}")]


def _load_menu(path: Path, centre: Centre) -> tuple[Menu | None, list[Problem]]:
    file = path.name
    try:
        text = path.read_text()
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError) as e:
        return None, [Problem(file, 1, f"cannot read: {e}")]
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        return None, [Problem(file, int(m.group(1)) if m else 1, f"not valid TOML: {e}")]
    lines = Lines(text)
    problems: list[Problem] = []
    prompts = {}
    for pid, raw in data.get("prompts", {}).items():
        voices = tuple(tuple(v) for v in raw.get("voices", ()))
        texts = {k: v for k, v in raw.items() if k in LANGUAGES}
        for k in set(raw) - set(LANGUAGES) - {"voices"}:
            problems.append(Problem(file, lines.of(f"prompts.{pid}", k), f"prompt {pid}: unknown language {k!r}"))
        prompts[pid] = Prompt(pid, texts, voices)
    nodes = {}
    for nid, raw in data.get("nodes", {}).items():
        base = f"nodes.{nid}"
        options = {}
        for digit, act in raw.get("options", {}).items():
            if len(digit) != 1 or digit not in DTMF:
                problems.append(Problem(file, lines.of(f"{base}.options", digit),
                                        f"node {nid}: option {digit!r} is not one DTMF key (0-9 * #)"))
                continue
            options[digit] = _action(act, f"{base}.options.{digit}", problems, file, lines)
        try:
            timeout, retries = float(raw.get("timeout", 5)), int(raw.get("retries", 2))
        except (TypeError, ValueError):
            problems.append(Problem(file, lines.of(base), f"node {nid}: timeout and retries must be numbers"))
            timeout, retries = 5.0, 2
        if not 1 <= timeout <= 30:
            problems.append(Problem(file, lines.of(base, "timeout"), f"node {nid}: timeout must be 1-30 s"))
        if not 0 <= retries <= 5:
            problems.append(Problem(file, lines.of(base, "retries"), f"node {nid}: retries must be 0-5"))
        on_timeout = _action(raw.get("on_timeout", {"department": data.get("operator", "")}),
                             f"{base}.on_timeout", problems, file, lines)
        on_invalid = (_action(raw["on_invalid"], f"{base}.on_invalid", problems, file, lines)
                      if "on_invalid" in raw else None)
        if "prompt" not in raw:
            problems.append(Problem(file, lines.of(base), f"node {nid}: no prompt"))
        nodes[nid] = Node(nid, str(raw.get("prompt", "")), options, timeout, retries, on_timeout, on_invalid)
    entry_no = str(data.get("entry", path.stem))
    start = str(data.get("start", ""))
    menu = Menu(nodes=nodes, entries={entry_no: Entry(entry_no, start, None, data.get("language"))},
                operator=str(data.get("operator", centre.fallback_department)), prompts=prompts,
                templates=data.get("templates", {}), default_language=str(data.get("fallback_language", "cmn")),
                max_depth=int(data.get("max_depth", 3)),
                version=hashlib.sha256(text.encode()).hexdigest()[:12])
    problems += check(menu, centre, file, lines, start)
    for tid, by_lang in menu.templates.items():
        for lang, text in by_lang.items():
            try:
                str(text).format(id="1", status="s", due="d")
            except (KeyError, IndexError, ValueError) as e:
                problems.append(Problem(file, lines.of(f"templates.{tid}", lang),
                                        f"template {tid} ({lang}) has an unknown placeholder {{{str(e).strip(chr(39))}}}: "
                                        "use {id}, {status}, {due}"))
    return menu, problems


def _targets(action: Action) -> tuple[list[str], list[str], list[str], bool]:
    """(goto nodes, departments, prompts, terminal?) of one action chain."""
    gotos, deps, prompts, terminal = [], [], [], False
    while True:
        if isinstance(action, SetLanguage):
            action = action.then
        elif isinstance(action, Say):
            prompts.append(action.prompt)
            action = action.then
        elif isinstance(action, KbAnswer):
            prompts.append(action.fallback)
            action = action.then
        elif isinstance(action, TicketStatus):
            prompts += ["ticket_ask", "ticket_unknown"]
            action = action.then
        elif isinstance(action, Goto):
            gotos.append(action.node)
            return gotos, deps, prompts, terminal
        else:
            if isinstance(action, ToDepartment):
                deps.append(action.department)
            if isinstance(action, Callback):
                prompts.append("callback_ok")
            return gotos, deps, prompts, True


def check(menu: Menu, centre: Centre, file: str, lines: Lines, start: str) -> list[Problem]:
    problems: list[Problem] = []
    codes = {d.code for d in centre.departments}
    if start not in menu.nodes:
        problems.append(Problem(file, lines.of("start"), f"start node {start!r} is not defined"))
    if menu.operator not in codes:
        problems.append(Problem(file, lines.of("operator"), f"operator {menu.operator!r} is not a department"))
    if menu.default_language not in LANGUAGES:
        problems.append(Problem(file, lines.of("fallback_language"),
                                f"fallback_language must be one of {', '.join(LANGUAGES)}"))
    edges: dict[str, set[str]] = {}
    exits: dict[str, bool] = {}
    used_prompts: dict[str, tuple[str, str]] = {}
    for nid, node in menu.nodes.items():
        edges[nid], exits[nid] = set(), False
        used_prompts.setdefault(node.prompt, (f"nodes.{nid}", "prompt"))
        acts = [(f"nodes.{nid}.options", d, a) for d, a in node.options.items()]
        acts.append((f"nodes.{nid}", "on_timeout", node.on_timeout))
        if node.on_invalid is not None:
            acts.append((f"nodes.{nid}", "on_invalid", node.on_invalid))
        for table, key, act in acts:
            gotos, deps, prompts, terminal = _targets(act)
            exits[nid] |= terminal
            for g in gotos:
                if g not in menu.nodes:
                    problems.append(Problem(file, lines.of(table, key), f"node {nid}: goto to undefined node {g!r}"))
                edges[nid].add(g)
            for d in deps:
                if d not in codes:
                    problems.append(Problem(file, lines.of(table, key),
                                            f"node {nid}: department {d!r} is not defined (no such skill)"))
            for p in prompts:
                used_prompts.setdefault(p, (table, key))
            lang = act.language if isinstance(act, SetLanguage) else None
            if lang and lang not in LANGUAGES + ("default",):
                problems.append(Problem(file, lines.of(table, key), f"node {nid}: unknown language {lang!r}"))
    # prompts: defined, and translated (or multi-voice)
    for pid, (table, key) in used_prompts.items():
        prompt = menu.prompts.get(pid)
        if prompt is None:
            problems.append(Problem(file, lines.of(table, key), f"prompt {pid!r} is not defined"))
            continue
        if not prompt.voices:
            for lang in LANGUAGES:
                if lang not in prompt.texts:
                    problems.append(Problem(file, lines.of(f"prompts.{pid}"),
                                            f"prompt {pid!r} has no {lang} text: callers hear "
                                            f"{menu.default_language}", error=False))
    # reachability and depth from the start node
    depth = {start: 1} if start in menu.nodes else {}
    todo = deque(depth)
    while todo:
        n = todo.popleft()
        for m in edges.get(n, ()):
            if m in menu.nodes and m not in depth:
                depth[m] = depth[n] + 1
                todo.append(m)
    for nid in menu.nodes:
        if nid not in depth:
            problems.append(Problem(file, lines.of(f"nodes.{nid}"), f"node {nid!r} is unreachable from {start!r}"))
        elif depth[nid] > menu.max_depth:
            problems.append(Problem(file, lines.of(f"nodes.{nid}"),
                                    f"node {nid!r} is {depth[nid]} levels deep (max_depth {menu.max_depth})"))
    # exits: a node can leave the menu if an exit is reachable from it ("0" aside)
    can_exit = {n for n, e in exits.items() if e}
    changed = True
    while changed:
        changed = False
        for n, outs in edges.items():
            if n not in can_exit and outs & can_exit:
                can_exit.add(n)
                changed = True
    for nid in menu.nodes:
        if nid in can_exit:
            continue
        in_loop = _reaches(edges, nid, nid)
        what = "is in a loop without exit" if in_loop else "is a dead end"
        problems.append(Problem(file, lines.of(f"nodes.{nid}"),
                                f"node {nid!r} {what}: no department, callback or hang-up can be reached"))
    return problems


def _reaches(edges: dict[str, set[str]], src: str, dst: str) -> bool:
    seen, todo = set(), [src]
    while todo:
        for m in edges.get(todo.pop(), ()):
            if m == dst:
                return True
            if m not in seen:
                seen.add(m)
                todo.append(m)
    return False


def load_all(folder: Path, centre: Centre) -> tuple[Menu | None, list[Problem]]:
    """Every <number>.toml in the folder merged with the direct department numbers."""
    problems: list[Problem] = []
    nodes, entries, prompts, templates = {}, {}, {}, {}
    base: Menu | None = None
    files = sorted(folder.glob("*.toml"))
    if not files:
        problems.append(Problem(str(folder), 1, "no menu files"))
    for path in files:
        menu, found = load_menu(path, centre)
        problems += found
        if menu is None:
            continue
        # every file after the first gets its own names: '<stem>_' (no ':' or ',', which the
        # call path uses) so one file can never change what another number's callers hear
        prefix = "" if base is None else f"{path.stem}_"
        if base is None:
            base = menu
        rename = {n: prefix + n for n in menu.nodes}
        prompt_names = {p: prefix + p for p in menu.prompts}
        for nid, node in menu.nodes.items():
            nodes[rename[nid]] = _renamed(node, rename, prompt_names)
        for number, entry in menu.entries.items():
            entries[number] = Entry(number, rename.get(entry.start or "", entry.start), None, entry.language)
        prompts.update({prompt_names[p]: Prompt(prompt_names[p], v.texts, v.voices) for p, v in menu.prompts.items()})
        for tid, t in menu.templates.items():
            templates.setdefault(tid, t)
    if base is None:
        return None, problems
    for number, dep in centre.entry_numbers().items():
        if number not in entries:
            if dep is None:
                problems.append(Problem(str(folder), 1, f"centre number {number} has no menu file"))
                continue
            entries[number] = Entry(number, None, dep.code, base.default_language)
    versions = hashlib.sha256("".join(p.read_bytes().hex() for p in files).encode()).hexdigest()[:12]
    menu = Menu(nodes=nodes, entries=entries, operator=base.operator, prompts=prompts, templates=templates,
                default_language=base.default_language, max_depth=base.max_depth, version=versions)
    return menu, problems


def _renamed(node: Node, rename: dict[str, str], prompt_names: dict[str, str]) -> Node:
    if not any(rename[k] != k for k in rename):
        return node

    def fix(a: Action) -> Action:
        if isinstance(a, Goto):
            return Goto(rename.get(a.node, a.node))
        if isinstance(a, Say):
            return Say(prompt_names.get(a.prompt, a.prompt), fix(a.then))
        if isinstance(a, KbAnswer):  # the key stays: the knowledge base is the centre's, not the file's
            return KbAnswer(a.key, prompt_names.get(a.fallback, a.fallback), fix(a.then))
        if isinstance(a, (SetLanguage, TicketStatus)):
            return type(a)(**{**a.__dict__, "then": fix(a.then)})
        return a
    return Node(rename[node.id], prompt_names.get(node.prompt, node.prompt),
                {d: fix(a) for d, a in node.options.items()}, node.timeout,
                node.retries, fix(node.on_timeout), fix(node.on_invalid) if node.on_invalid else None)


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.error]


__all__ = ["FLOWS", "Problem", "load_menu", "load_all", "check", "errors", "TERMINAL", "Callback"]
