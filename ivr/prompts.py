"""Prompts per language, synthesised with espeak-ng from text and converted to 8 kHz.

Studio recordings dropped into <sounds>/<lang>/hotline/<id>.wav by hand win: a file whose
sidecar .txt does not match what we would synthesise is left alone.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from hotline.settings import Centre

log = logging.getLogger(__name__)

VOICES = {"cmn": "cmn", "yue": "yue", "en": "en"}
FALLBACK_LANGUAGE = "cmn"


def texts(centre: Centre) -> dict[str, dict[str, list[tuple[str, str]]]]:
    """prompt id -> language -> [(voice, text)] segments."""
    welcome = [("cmn", f"您好，这里是{centre.centre_number}政务服务便民热线。普通话请按1。"),
               ("yue", "廣東話請按2。"), ("en", "For English, press 3.")]
    out: dict[str, dict[str, list[tuple[str, str]]]] = {"welcome": {lang: welcome for lang in VOICES}}
    deps = [d for d in centre.departments if d.digit != "0"]
    out["departments"] = {
        "cmn": [("cmn", "".join(f"{d.name.get('cmn', d.code)}请按{d.digit}。" for d in deps) + "人工服务请按0。")],
        "yue": [("yue", "".join(f"{d.name.get('yue', d.code)}請按{d.digit}。" for d in deps) + "人工服務請按0。")],
        "en": [("en", " ".join(f"For {d.name.get('en', d.code)}, press {d.digit}." for d in deps)
                + " For an operator, press 0.")],
    }
    return out


class PromptCatalogue:
    """Knows which prompts exist per language and the path Asterisk plays."""

    def __init__(self, prompts: dict[str, dict[str, list[tuple[str, str]]]]):
        self.prompts = prompts

    def path(self, prompt: str, language: str) -> str:
        langs = self.prompts.get(prompt, {})
        lang = language if language in langs else FALLBACK_LANGUAGE
        return f"{lang}/hotline/{prompt}"

    def missing(self) -> list[tuple[str, str]]:
        return [(p, lang) for p, by in self.prompts.items() for lang in VOICES if lang not in by]


def in_root(root: Path, path: Path) -> Path:
    """Follow symlinks the way the chrooted Asterisk sees them (absolute = inside the root)."""
    for _ in range(16):
        if not path.is_symlink():
            return path
        target = Path(os.readlink(path))
        path = root / str(target).lstrip("/") if target.is_absolute() else (path.parent / target)
    return path


def build(root: Path, prompts: dict[str, dict[str, list[tuple[str, str]]]],
          owner: tuple[int, int] | None = None) -> int:
    """Synthesise what is missing or changed under <root>/usr/share/asterisk/sounds; returns
    how many files were written."""
    sounds_dir = root / "usr/share/asterisk/sounds"
    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        raise RuntimeError("espeak-ng and sox are needed to synthesise prompts (scripts/bootstrap.sh installs them)")
    written = 0
    for prompt, by_lang in prompts.items():
        for lang, segments in by_lang.items():
            target = in_root(root, sounds_dir / lang) / "hotline" / f"{prompt}.wav"
            stamp = target.with_suffix(".txt")
            digest = hashlib.sha256(repr(segments).encode()).hexdigest()
            if target.exists() and (not stamp.exists() or stamp.read_text().strip() == digest):
                continue  # up to date, or a studio recording without our stamp
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory() as tmp:
                parts = []
                for i, (voice, text) in enumerate(segments):
                    raw = Path(tmp) / f"{i}.wav"
                    subprocess.run(["espeak-ng", "-v", VOICES[voice], "-s", "190", "-w", str(raw), text],
                                   check=True, capture_output=True)
                    parts.append(str(raw))
                subprocess.run(["sox", *parts, "-r", "8000", "-c", "1", "-b", "16", str(target)],
                               check=True, capture_output=True)
            stamp.write_text(digest + "\n")
            if owner:
                for p in (target, stamp, target.parent, target.parent.parent):
                    os.chown(p, *owner)
            written += 1
    return written
