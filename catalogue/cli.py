"""`hotline catalogue check [--file PATH]`: every defect of the dispatch catalogue with its
line; exit 1 when there are errors (warnings alone pass)."""
from __future__ import annotations

from pathlib import Path

from catalogue import loader


def register(sub, settings_of, categories: set[str]) -> None:
    c = sub.add_parser("catalogue", help="check the dispatch catalogue (matter types, departments, deadlines)")
    c.add_argument("action", choices=["check"])
    c.add_argument("--file", help="catalogue file (default: setting catalogue)")

    def run(args) -> int:
        s = settings_of(args)
        path = Path(args.file) if args.file else s.catalogue
        cat, problems = loader.load(path, {d.code for d in s.centre.departments}, categories)
        for p in problems:
            print(p)
        errs = loader.errors(problems)
        print(f"catalogue check: {len(errs)} errors, {len(problems) - len(errs)} warnings"
              + (f", {len(cat.matters)} matter types, version {cat.version}" if cat else ""))
        return 1 if cat is None else 0
    c.set_defaults(fn=run)
