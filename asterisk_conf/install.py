"""Install Asterisk: the system's (>= 20) if present, else a Debian sid root (debootstrap).

The root is built once into <home>/asterisk-root (outside the git tree) and reused; a
half-built root is never taken for a finished one (built in .tmp, then renamed).
"""
from __future__ import annotations

import logging
import re
import shutil
import subprocess
import sys
from pathlib import Path

from core.errors import InstallFailed
from core.settings import Settings

log = logging.getLogger(__name__)

PACKAGES = ("asterisk", "asterisk-modules", "asterisk-core-sounds-en-gsm", "asterisk-moh-opsound-gsm")
MIN_MAJOR = 20


def system_asterisk() -> Path | None:
    exe = Path("/usr/sbin/asterisk")
    if not exe.exists():
        return None
    out = subprocess.run([str(exe), "-V"], capture_output=True, text=True).stdout
    m = re.search(r"Asterisk (\d+)", out)
    return Path("/") if m and int(m.group(1)) >= MIN_MAJOR else None


def is_installed(root: Path) -> bool:
    return (root / "usr/sbin/asterisk").exists() and (root / "etc/passwd").exists()


def version(root: Path) -> str:
    cmd = ["/usr/sbin/asterisk", "-V"] if root == Path("/") else ["chroot", str(root), "/usr/sbin/asterisk", "-V"]
    return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()


def install(settings: Settings, out=sys.stderr) -> Path:
    """Idempotent: returns the root that holds a usable Asterisk."""
    root = settings.root
    if is_installed(root):
        print(f"asterisk: using {root} ({version(root)})", file=out)
        return root
    if shutil.which("debootstrap") is None:
        raise InstallFailed("debootstrap is missing: run scripts/bootstrap.sh (apt-get install debootstrap)")
    tmp = root.with_name(root.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    print(f"asterisk: building a Debian sid root in {root} (about a minute, ~500 MB)", file=out)
    cmd = ["debootstrap", "--variant=minbase", "--include=" + ",".join(PACKAGES), "sid", str(tmp)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    steps = 0
    assert proc.stdout is not None
    for line in proc.stdout:
        steps += 1
        if line.startswith("I: ") and ("Retrieving" in line or "Unpacking" in line or "Configuring" in line):
            if steps % 40 == 0:
                print(f"asterisk:   {line[3:].strip()}", file=out, flush=True)
    if proc.wait() != 0 or not is_installed(tmp):
        raise InstallFailed(f"debootstrap failed (exit {proc.returncode}); see {tmp}/debootstrap/debootstrap.log")
    tmp.rename(root)
    print(f"asterisk: installed {version(root)}", file=out)
    return root


def asterisk_ids(root: Path) -> tuple[int, int]:
    """uid and gid of the user `asterisk` as the root knows it (they differ from the host's)."""
    passwd = (Path("/etc/passwd") if root == Path("/") else root / "etc/passwd").read_text()
    for line in passwd.splitlines():
        parts = line.split(":")
        if parts[0] == "asterisk":
            return int(parts[2]), int(parts[3])
    raise InstallFailed(f"no user asterisk in {root}/etc/passwd")
