"""Received faxes: the TIFF Asterisk wrote becomes a PDF with a page count.

A fax cut off midway keeps the pages that arrived and says so; a missing or unreadable
TIFF gives an error result, never an exception (the ticket is opened regardless).
"""
from __future__ import annotations

import warnings
from pathlib import Path

from recordings.stored import StoredFile, sha256_of

MAX_BYTES = 64 * 1024 * 1024
MAX_PAGES = 200


MIME = "application/pdf"


def to_pdf(src: Path, dest_dir: Path, name: str, fax_status: str, fax_pages: int | None,
           fax_error: str) -> StoredFile:
    from PIL import Image, ImageSequence

    complete = fax_status == "SUCCESS"
    why = "" if complete else f"fax {fax_status or 'not finished'} ({fax_error or 'no error given'})"
    if not src.exists() or src.stat().st_size == 0:
        return StoredFile("fax", "error", MIME, error=f"no fax image arrived; {why or 'empty file'}")
    if src.stat().st_size > MAX_BYTES:
        return StoredFile("fax", "error", MIME, error=f"fax image too large ({src.stat().st_size} bytes), kept as received")
    try:
        with warnings.catch_warnings():  # Pillow warns about corrupt tags: the result says it
            warnings.simplefilter("ignore")
            with Image.open(src) as im:
                pages = [p.convert("L") for _, p in zip(range(MAX_PAGES), ImageSequence.Iterator(im))]
    except Exception as e:  # untrusted input: whatever the decoder raises becomes the ticket's error  # noqa: BLE001
        return StoredFile("fax", "error", MIME, error=f"unreadable fax image, kept as received ({src.name}): {str(e)[:200]}; {why}")
    if not pages:
        return StoredFile("fax", "error", MIME, error=f"the fax image holds no page; {why}")
    dest_dir.mkdir(parents=True, exist_ok=True)
    out = dest_dir / f"{name}.pdf"
    pages[0].save(out, "PDF", save_all=True, append_images=pages[1:], resolution=204)
    expected = fax_pages if fax_pages is not None else len(pages)
    status = "ok" if complete and len(pages) >= expected else "partial"
    error = None if status == "ok" else f"partial fax: {len(pages)} page(s) arrived; {why}"
    return StoredFile("fax", status, MIME, str(out), sha256_of(out), out.stat().st_size, pages=len(pages), error=error)
