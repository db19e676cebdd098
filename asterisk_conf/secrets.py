"""Per-install secrets: generated once, kept in files of mode 0600, never defaults."""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

AMI_USER = "hotline"


def _read_or_create(path: Path, nbytes: int = 24) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        value = secrets.token_urlsafe(nbytes)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(value + "\n")
        return value


def ami_secret(state_dir: Path) -> str:
    return _read_or_create(state_dir / "ami.secret")


def agent_password(state_dir: Path, agent_id: str) -> str:
    """Derived from one install seed, so rendering twice gives the same passwords."""
    seed = _read_or_create(state_dir / "sip.seed", 32)
    return hmac.new(seed.encode(), f"agent:{agent_id}".encode(), hashlib.sha256).hexdigest()[:24]
