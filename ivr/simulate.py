"""Text walk of a menu path: what a caller hears and where the call goes. No Asterisk."""
from __future__ import annotations

from ivr import machine, words
from ivr.model import LANGUAGES, Menu


def _text(menu: Menu, prompt: str, language: str) -> str:
    p = menu.prompts.get(prompt)
    if p is None:
        return f"<missing prompt {prompt}>"
    if p.voices:
        return " ".join(t for _, t in p.voices)
    if language in p.texts:
        return p.texts[language]
    return f"[{menu.default_language}, no {language} text] {p.texts.get(menu.default_language, '')}"


def walk(menu: Menu, to: str, keys: list[str], remembered: str | None = None, t0: float = 0.0) -> str:
    out = [f"call to {to}" + (f" (remembered language {remembered})" if remembered else "")]
    t = t0
    state, cmds = machine.start(menu, machine.Started(to, t, remembered))
    keys = list(keys)
    while True:
        event = None
        for c in cmds:
            if isinstance(c, machine.Ask):
                out.append(f"  [{state.node or 'ticket'}] {c.language} hears: {_text(menu, c.prompt, c.language)}")
                if c.prompt and menu.prompts.get(c.prompt) and not menu.prompts[c.prompt].voices:
                    for lang in LANGUAGES:
                        if lang != c.language:
                            out.append(f"        ({lang}: {_text(menu, c.prompt, lang)})")
                if not keys:
                    out.append("  ... (no more keys: the caller is still listening)")
                    return "\n".join(out)
                key = keys.pop(0)
                t += 2
                out.append(f"  caller presses {key!r}" if key != "t" else "  caller presses nothing (timeout)")
                event = machine.Input("" if key == "t" else key, t)
            elif isinstance(c, machine.Play):
                out.append(f"  {c.language} hears: {_text(menu, c.prompt, c.language)}")
                event = machine.Played(t)
            elif isinstance(c, machine.Speak):
                out.append(f"  {c.language} hears: {c.text}")
                event = machine.Played(t)
            elif isinstance(c, machine.LookUpTicket):
                lang = state.language or menu.default_language
                event = machine.Looked(c.ticket, words.status_text("new", lang), "", t)
                out.append(f"  (simulated look-up of ticket {c.ticket}: status new)")
            elif isinstance(c, machine.LookUpKb):
                # a text walk has no database: it shows what a caller hears when the entry is missing
                event = machine.KbLooked(c.key, None, None, t)
                out.append(f"  (knowledge-base answer ivr:{c.key} in {c.language} is read from the database "
                           "on a real call; the walk plays the fallback)")
            elif isinstance(c, machine.Finish):
                where = f"queue hl-{c.department}" if c.action == "queue" else "hang up"
                extra = " (callback booked)" if state.callback else ""
                out.append(f"  -> {where}{extra}; language {state.language}; path {state.path_text() or '-'}")
                return "\n".join(out)
        if event is None:
            return "\n".join(out)
        state, cmds = machine.step(menu, state, event)
