"""Start, stop and query one Asterisk instance (config under <root>/srv/hotline/<instance>)."""
from __future__ import annotations

import logging
import os
import shlex
import socket
import subprocess
import time
from pathlib import Path

from core.errors import InstallFailed
from core.settings import Settings
from asterisk_conf import install, render

log = logging.getLogger(__name__)
# pjproject's poll loops, by thread name: res_pjsip's monitor ("SIP": SIP sockets and pjsip's
# timers) and res_rtp_asterisk's ICE/STUN timer thread ("timer"). Each waits in epoll_wait
# for 10 ms at most, whatever the load: 200 wake-ups a second, most of an idle node's CPU.
POLLERS = ("SIP", "timer")


def _conf(settings: Settings) -> str:
    return f"{settings.inst_in_root}/etc/asterisk.conf"


def _base(settings: Settings) -> list[str]:
    root = settings.root
    return [] if root == Path("/") else ["chroot", str(root)]


def rx_command(settings: Settings, command: str) -> list[str]:
    return _base(settings) + ["/usr/sbin/asterisk", "-C", _conf(settings), "-rx", command]


def rx(settings: Settings, command: str, timeout: float = 10) -> subprocess.CompletedProcess:
    """Run a CLI command on the instance (the remote console; root only)."""
    return subprocess.run(rx_command(settings, command), capture_output=True, text=True, timeout=timeout)


def running(settings: Settings) -> bool:
    try:
        r = rx(settings, "core show version", timeout=5)
    except subprocess.TimeoutExpired:
        return False
    return r.returncode == 0 and "Asterisk" in r.stdout


def prepare(settings: Settings) -> None:
    """Everything a start needs but the start: Asterisk installed, the config rendered."""
    root = settings.root
    if not install.is_installed(root):
        raise InstallFailed(f"no Asterisk in {root}: run `hotline asterisk install` first")
    uid, gid = install.asterisk_ids(root)
    render.write(settings, uid, gid)


def busy_ports(settings: Settings) -> list[str]:
    return [f"{proto.upper()} {port}" for proto, port in (("tcp", settings.ami_port), ("udp", settings.sip_port))
            if _in_use(settings.bind, port, proto)]


def command(settings: Settings) -> list[str]:
    """Asterisk in the foreground as the user asterisk, chrooted into its root. `up` detaches
    it; the systemd unit (asterisk_conf/systemd.py) runs it as the service's main process."""
    root = settings.root
    user = ["-U", "asterisk", "-G", "asterisk"]
    ast = ["/usr/sbin/asterisk"] + user + ["-f", "-n", "-C", _conf(settings)]
    if root == Path("/"):
        return ast
    # bind mounts live in a private mount namespace: nothing to clean up when it exits
    r = shlex.quote(str(root))
    inner = f"mount --bind /proc {r}/proc && mount --bind /dev {r}/dev && exec chroot {r} " + shlex.join(ast)
    return ["unshare", "--mount", "--propagation", "private", "--fork", "/bin/sh", "-c", inner]


def pid(settings: Settings) -> int | None:
    """The running instance's pid (its pid file in the instance's run folder), if any."""
    try:
        return int((settings.host_path(settings.inst_in_root) / "run" / "asterisk.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def slacken(settings: Settings, proc: str = "/proc") -> int:
    """Gives Asterisk's two pjproject poll loops (POLLERS) `poll_slack_ms` of timer slack
    (proc(5) timerslack_ns, per thread; root): their 10 ms waits then end within 10 ms plus
    the slack, so they wake about 20 times a second instead of 100 each. A packet still
    wakes them at once (epoll); only pjsip's and ICE's own timers (retransmissions, 500 ms
    and up) may fire up to the slack late. Other threads (channels, bridges, the timing
    source of media) keep the default. Returns how many threads were changed. `proc`: where
    proc(5) is (tests give a tree of their own)."""
    p = pid(settings)
    if not settings.poll_slack_ms or p is None:
        return 0
    done = 0
    try:
        tids = os.listdir(f"{proc}/{p}/task")
    except OSError:
        return 0
    for tid in tids:
        try:
            with open(f"{proc}/{p}/task/{tid}/comm") as f:
                if f.read().strip() not in POLLERS:
                    continue
            with open(f"{proc}/{tid}/timerslack_ns", "w") as f:
                f.write(str(settings.poll_slack_ms * 1_000_000))
            done += 1
        except OSError as e:   # not root, or the thread ended: Asterisk runs as it would anyway
            log.info("asterisk: timer slack of thread %s not set (%s)", tid, e)
    return done


def wait_booted(settings: Settings, wait: float = 30.0) -> None:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        r = rx(settings, "core waitfullybooted", timeout=wait)
        if r.returncode == 0:
            slacken(settings)
            return
        time.sleep(0.2)
    inst = settings.host_path(settings.inst_in_root)
    raise InstallFailed(f"Asterisk did not boot within {wait}s; see {inst}/log/console.log")


def up(settings: Settings, wait: float = 30.0) -> str:
    """Render the config, start Asterisk if it is not running, wait until fully booted."""
    prepare(settings)
    if running(settings):
        rx(settings, "core reload")
        return "reloaded"
    busy = busy_ports(settings)
    if busy:
        # another Asterisk (or anything) holds our ports: Asterisk would start without them, silently
        raise InstallFailed(f"port(s) {', '.join(busy)} on {settings.bind} already in use; "
                            "stop that process or choose other ports (HOTLINE_AMI_PORT, HOTLINE_SIP_PORT)")
    inst = settings.host_path(settings.inst_in_root)
    # setsid --fork detaches Asterisk from us: it outlives this command, and `down` stops it
    with open(inst / "log" / "console.log", "ab") as log:
        subprocess.run(["setsid", "--fork"] + command(settings), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                       check=True)
    wait_booted(settings, wait)
    return "started"


def _in_use(host: str, port: int, proto: str) -> bool:
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as sock:
        # like Asterisk itself: connections lingering in TIME_WAIT do not make a port busy
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def down(settings: Settings, wait: float = 15.0) -> bool:
    if not running(settings):
        return False
    rx(settings, "core stop now")
    deadline = time.monotonic() + wait
    # gone means its ports are free too: an Asterisk still exiting would otherwise remove
    # the control socket of the next one started in the same folder
    while time.monotonic() < deadline and (running(settings) or _in_use(settings.bind, settings.ami_port, "tcp")
                                           or _in_use(settings.bind, settings.sip_port, "udp")):
        time.sleep(0.1)
    return True


def status(settings: Settings) -> dict:
    r = rx(settings, "core show version", timeout=5) if install.is_installed(settings.root) else None
    ok = bool(r and r.returncode == 0 and "Asterisk" in r.stdout)
    return {"installed": install.is_installed(settings.root), "running": ok,
            "version": r.stdout.strip() if ok else None, "root": str(settings.root)}
