"""What a call leaves on disk besides its record: one result type for the recording, the
voicemail and the fax, and the attachment row it becomes."""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

KINDS = ("recording", "voicemail", "fax")


@dataclass(frozen=True)
class StoredFile:
    kind: str                   # recording | voicemail | fax
    status: str                 # ok | partial (fax) | empty (voicemail) | error
    mime: str                   # of the stored file
    path: str | None = None     # None: nothing was produced (see error); the original is kept
    sha256: str | None = None
    bytes: int | None = None
    seconds: float | None = None
    pages: int | None = None
    error: str | None = None

    def attachment(self, original: Path, original_mime: str) -> dict:
        """The attachment row. A file that could not be processed points at the original as
        Asterisk wrote it, so nothing the citizen sent is lost."""
        row = asdict(self)
        if self.path is None:
            row["path"], row["mime"] = str(original), original_mime
        return row


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
