"""systemd units for one instance, rendered from the settings like the Asterisk config.

`hotline systemd render` writes, for instance <i>:
  hotline-asterisk-<i>.service  Asterisk in the foreground, the same command `hotline asterisk
                                up` detaches (process.command); its config rendered before
                                every start, active once fully booted. No reload: a
                                dialplan reload clears the globals the engine sets
                                (heartbeat, agents' lines); a change of settings is a restart
  hotline-engine-<i>.service    `hotline serve`, requiring and ordered after the Asterisk unit
  hotline-<i>.logrotate         Asterisk's own log files (the rest goes to journald)

Only what locates the instance is written into the units (home, instance, Asterisk root,
the settings file); every other setting is read again at each start, from the settings
file and the optional environment file `<home>/<instance>/hotline.env`.
"""
from __future__ import annotations

import re
import shlex
import shutil
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

import jinja2

from asterisk_conf import TEMPLATES, process
from core.errors import ConfigInvalid, InstallFailed
from core.settings import Settings

SYSTEMD_TEMPLATES = TEMPLATES / "systemd"
ENV_FILE = "hotline.env"
_INSTANCE = re.compile(r"[A-Za-z0-9_-]{1,64}")   # goes into unit names
_PLAIN = re.compile(r"[A-Za-z0-9_@+=:,./-]+")     # needs no quoting in an Exec line or logrotate path
# where Debian keeps the tools the units call; used when this host's PATH does not have them
_DEBIAN = {"unshare": "/usr/bin/unshare", "chroot": "/usr/sbin/chroot", "setsid": "/usr/bin/setsid"}


@dataclass(frozen=True)
class Names:
    asterisk: str
    engine: str
    logrotate: str


def names(instance: str) -> Names:
    if not _INSTANCE.fullmatch(instance):
        raise ConfigInvalid(f"instance {instance!r}: a unit name needs letters, digits, _ or - (1-64)")
    return Names(f"hotline-asterisk-{instance}.service", f"hotline-engine-{instance}.service",
                 f"hotline-{instance}.logrotate")


def hotline_command(python: str = sys.executable) -> list[str]:
    """How a unit runs `hotline`: the console script beside this interpreter (the venv's)."""
    script = Path(python).with_name("hotline")
    return [str(script)] if script.exists() else [python, "-m", "hotline.cli"]


def _absolute(argv: list[str]) -> list[str]:
    """systemd wants the program as an absolute path; PATH at render time, else Debian's."""
    if argv[0].startswith("/"):
        return argv
    found = shutil.which(argv[0]) or _DEBIAN.get(argv[0])
    if not found:
        raise ConfigInvalid(f"{argv[0]}: not found on PATH; install it (util-linux, coreutils)")
    return [found, *argv[1:]]


def _checked(value: str) -> str:
    if any(c in value for c in "\n\r\0"):
        raise ConfigInvalid(f"{value!r}: line breaks and NUL cannot go into a unit file")
    return value


def exec_line(argv: list[str]) -> str:
    """One Exec*= command line: each argument survives systemd's unquoting, C unescaping,
    %-specifiers and $-variables exactly as given."""
    argv = _absolute([_checked(str(a)) for a in argv])
    if any(c in argv[0] for c in "\"'\\"):
        raise ConfigInvalid(f"{argv[0]!r}: systemd refuses quotes and backslashes in a program's path")
    out = []
    for i, arg in enumerate(argv):
        if arg == ";":  # a lone ; separates commands, quoted or not
            raise ConfigInvalid("an argument ';' cannot go into a systemd command line")
        text = arg.replace("%", "%%")
        if i:  # $VARIABLES are expanded in the arguments, never in the program's path
            text = text.replace("$", "$$")
        if not _PLAIN.fullmatch(arg):
            text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
        out.append(text)
    return " ".join(out)


def unit_path(path: Path | str) -> str:
    """A path setting (EnvironmentFile=...): specifiers are expanded there too."""
    text = _checked(str(path))
    if not text.startswith("/"):
        raise ConfigInvalid(f"{text!r}: units need absolute paths")
    return text.replace("%", "%%")


def logrotate_path(path: Path | str) -> str:
    text = _checked(str(path))
    if '"' in text:
        raise ConfigInvalid(f"{text!r}: a double quote cannot go into a logrotate path")
    return text if _PLAIN.fullmatch(text) else f'"{text}"'


def render(settings: Settings, hotline: list[str] | None = None, settings_file: Path | None = None) -> dict[str, str]:
    """{file name: text} for the instance. `hotline`: how to run the command (default: the
    console script of this interpreter); `settings_file`: passed to every hotline the units run."""
    n = names(settings.instance)
    base = [*(hotline or hotline_command()), "--home", str(settings.home), "--instance", settings.instance]
    if settings_file is not None:
        base += ["--settings", str(Path(settings_file).resolve())]
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(SYSTEMD_TEMPLATES), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(exec=exec_line, path=unit_path, lpath=logrotate_path)
    log_dir = settings.host_path(settings.inst_in_root) / "log"
    ctx = dict(
        s=settings, names=n,
        prepare=[*base, "systemd", "prepare"],
        asterisk=process.command(settings),
        wait_booted=[*base, "systemd", "wait-booted"],
        stop=process.rx_command(settings, "core stop now"),
        serve=[*base, "serve"],
        env_file=settings.state_dir / ENV_FILE,
        logs=[log_dir / name for name in ("messages.log", "verbose.log", "queue_log")],
        logger_reload=shlex.join(_absolute(process.rx_command(settings, "logger reload"))),
    )
    return {n.asterisk: env.get_template("asterisk.service.j2").render(**ctx),
            n.engine: env.get_template("engine.service.j2").render(**ctx),
            n.logrotate: env.get_template("logrotate.j2").render(**ctx)}


def write(files: dict[str, str], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        path = out / name
        path.write_text(text)
        path.chmod(0o644)   # units and logrotate snippets hold no secret: the secrets stay in their files
        written.append(path)
    return written


def exposed_secrets(settings: Settings, settings_file: Path | None = None) -> list[str]:
    """Files holding settings or secrets that others than root could read (they should be 0600)."""
    candidates = [settings.state_dir / ENV_FILE, settings.state_dir / "ami.secret", settings.state_dir / "sip.seed"]
    if settings_file is not None:
        candidates.append(Path(settings_file))
    found = []
    for path in candidates:
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            continue
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            found.append(f"{path} is mode {stat.S_IMODE(mode):04o}: chmod 0600 it")
    return found


# -- what the Asterisk unit runs ------------------------------------------------------

def prepare(settings: Settings, prompts) -> None:
    """ExecStartPre: the config rendered, missing prompts synthesised (`prompts(settings)`),
    and a clear refusal when another process holds the AMI or SIP port (Asterisk would
    start without them, silently)."""
    process.prepare(settings)
    prompts(settings)
    busy = process.busy_ports(settings)
    if busy:
        raise InstallFailed(f"port(s) {', '.join(busy)} on {settings.bind} already in use; stop that process "
                            "or choose other ports (HOTLINE_AMI_PORT, HOTLINE_SIP_PORT)")

