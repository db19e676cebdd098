"""Load the catalogue file and check it: every defect with its file and line, as
`hotline ivr check` does for the menus. `load` never raises on a bad file: it returns the
problems and the caller (the live reload, `hotline catalogue check`) decides."""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from catalogue.model import Catalogue, Matter

FILE = Path(__file__).with_name("catalogue.toml")
CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
KEYS = {"code", "name", "category", "department", "days", "keywords"}
MAX_DAYS = 60


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str
    error: bool = True

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {'error' if self.error else 'warning'}: {self.message}"


def _positions(text: str) -> list[tuple[int, dict[str, int]]]:
    """The line of each [[matter]] header and of each key inside it (tomllib keeps none)."""
    out: list[tuple[int, dict[str, int]]] = []
    for no, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if re.fullmatch(r"\[\[\s*matter\s*\]\](\s*#.*)?", stripped):
            out.append((no, {}))
        elif out and (m := re.match(r'^\s*"?([A-Za-z0-9_-]+)"?\s*=', line)):
            out[-1][1].setdefault(m.group(1), no)
        elif re.match(r"^\s*\[", line):
            out.append((no, {}))   # another table: keys after it are not the matter's
    return out


def load(path: Path, departments: set[str], categories: set[str]) -> tuple[Catalogue | None, list[Problem]]:
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        return None, [Problem(name, 1, f"cannot read the file: {e}")]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        return None, [Problem(name, int(m.group(1)) if m else 1, f"not valid TOML: {e}")]
    problems: list[Problem] = []
    headers = _positions(text)
    for key in sorted(set(data) - {"matter"}):
        problems.append(Problem(name, 1, f"unknown top-level key {key!r} (only [[matter]] tables)"))
    tables = data.get("matter", [])
    if not isinstance(tables, list):
        return None, problems + [Problem(name, 1, "matter must be an array of tables: [[matter]]")]
    matter_headers = [h for h in headers if re.fullmatch(r"\[\[\s*matter\s*\]\].*",
                                                         text.splitlines()[h[0] - 1].strip())]
    matters: list[Matter] = []
    seen_codes: dict[str, int] = {}
    seen_names: dict[str, int] = {}
    keyword_owner: dict[str, str] = {}
    for i, t in enumerate(tables):
        head, keys = matter_headers[i] if i < len(matter_headers) else (1, {})
        at = lambda k: keys.get(k, head)  # noqa: E731 - the line of key k, else the table's
        where = f"matter #{i + 1}"
        bad = False
        code = t.get("code")
        if not isinstance(code, str) or not CODE.fullmatch(code):
            problems.append(Problem(name, at("code"), f"{where}: code {code!r} must be 1-64 of a-z, 0-9, _ or -"))
            bad = True
        else:
            where = f"matter {code}"
            if code in seen_codes:
                problems.append(Problem(name, at("code"), f"{where}: code used twice (first on line {seen_codes[code]})"))
                bad = True
            seen_codes.setdefault(code, at("code"))
        for k in sorted(set(t) - KEYS):
            problems.append(Problem(name, at(k), f"{where}: unknown key {k!r} (keys: {', '.join(sorted(KEYS))})"))
            bad = True
        title = t.get("name")
        if not isinstance(title, str) or not title.strip() or len(title) > 64:
            problems.append(Problem(name, at("name"), f"{where}: name must be text of 1-64 characters"))
            bad = True
        elif title in seen_names:
            problems.append(Problem(name, at("name"), f"{where}: name {title!r} used twice "
                                                      f"(first on line {seen_names[title]})"))
            bad = True
        else:
            seen_names[title] = at("name")
        if t.get("category") not in categories:
            problems.append(Problem(name, at("category"), f"{where}: category {t.get('category')!r} must be one of "
                                                          f"{', '.join(sorted(categories))}"))
            bad = True
        if t.get("department") not in departments:
            problems.append(Problem(name, at("department"), f"{where}: department {t.get('department')!r} is not a "
                                                            f"department of the centre ({', '.join(sorted(departments))})"))
            bad = True
        days = t.get("days")
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
            problems.append(Problem(name, at("days"), f"{where}: days {days!r} must be a whole number of working "
                                                      f"days, 1-{MAX_DAYS}"))
            bad = True
        keywords = t.get("keywords", [])
        if not isinstance(keywords, list) or not all(isinstance(k, str) and k.strip() for k in keywords):
            problems.append(Problem(name, at("keywords"), f"{where}: keywords must be a list of words"))
            bad, keywords = True, []
        if not keywords:
            problems.append(Problem(name, at("keywords") if "keywords" in t else head,
                                    f"{where}: no keywords: it is never suggested", error=False))
        for k in keywords:
            if k in keyword_owner and keyword_owner[k] != code:
                problems.append(Problem(name, at("keywords"), f"{where}: keyword {k!r} also points to "
                                                              f"{keyword_owner[k]}", error=False))
            keyword_owner.setdefault(k, str(code))
        if not bad:
            matters.append(Matter(code, title.strip(), t["category"], t["department"], days,
                                  tuple(k.strip() for k in keywords)))
    if not tables:
        problems.append(Problem(name, 1, "the catalogue has no [[matter]]"))
    if errors(problems):
        return None, problems
    return Catalogue(tuple(matters)), problems


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.error]
