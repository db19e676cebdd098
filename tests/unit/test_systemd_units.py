"""The systemd units and the logrotate snippet the hotline renders for itself.

Checked by systemd's own parser (`systemd-analyze verify`: unknown keys, bad values,
programs that are not executable) and by logrotate rotating for real; the asserts say what
an operator relies on: restart on failure, the engine after and bound to Asterisk, the
commands the hotline really runs."""
from __future__ import annotations

import os
import shlex
import shutil
import socket
import stat
import subprocess
from pathlib import Path

import pytest

from asterisk_conf import process, systemd
from core import settings
from core.errors import ConfigInvalid, InstallFailed
from hotline import cli

HOTLINE = systemd.hotline_command()


def tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is missing: scripts/bootstrap.sh installs it"
    return path


def load(tmp_path: Path, **kw) -> settings.Settings:
    kw.setdefault("home", str(tmp_path / "home"))
    return settings.load(env={}, **kw)


def parse(text: str) -> dict[str, dict[str, list[str]]]:
    """A strict reading of a unit file: every line a comment, a [section] or key=value."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for n, line in enumerate(text.splitlines(), 1):
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, eq, value = line.partition("=")
        assert eq and current is not None and key.isidentifier(), f"line {n}: {line!r}"
        current.setdefault(key, []).append(value)
    return sections


def verify(folder: Path, *names: str) -> subprocess.CompletedProcess:
    return subprocess.run([tool("systemd-analyze"), "verify", *(f"./{n}" for n in names)],
                          cwd=folder, capture_output=True, text=True, timeout=60)


def rendered(tmp_path: Path, s: settings.Settings, **kw) -> tuple[Path, dict[str, str]]:
    files = systemd.render(s, **kw)
    out = tmp_path / "units"
    systemd.write(files, out)
    return out, files


def test_systemd_accepts_both_units_as_rendered(tmp_path):
    s = load(tmp_path)
    out, files = rendered(tmp_path, s)
    n = systemd.names(s.instance)
    assert set(files) == {n.asterisk, n.engine, n.logrotate} == {
        "hotline-asterisk-main.service", "hotline-engine-main.service", "hotline-main.logrotate"}
    r = verify(out, n.asterisk, n.engine)
    assert (r.returncode, r.stdout + r.stderr) == (0, "")


def test_systemd_analyze_is_a_real_check(tmp_path):
    """The same check fails on a unit whose program does not exist and on an unknown key."""
    s = load(tmp_path)
    out, files = rendered(tmp_path, s, hotline=[str(tmp_path / "no-such-hotline")])
    r = verify(out, systemd.names(s.instance).engine)
    assert r.returncode != 0 and "no-such-hotline" in r.stderr
    engine = out / systemd.names(s.instance).engine
    engine.write_text(files[engine.name].replace(str(tmp_path / "no-such-hotline"), HOTLINE[0])
                      .replace("Restart=on-failure", "Restart=on-failure\nRestartt=always"))
    r = verify(out, engine.name)
    assert "Restartt" in r.stdout + r.stderr


def test_both_restart_on_failure_and_the_engine_follows_asterisk(tmp_path):
    s = load(tmp_path)
    _, files = rendered(tmp_path, s)
    n = systemd.names(s.instance)
    ast, eng = parse(files[n.asterisk]), parse(files[n.engine])
    for unit in (ast, eng):
        assert unit["Service"]["Restart"] == ["on-failure"]
        assert unit["Service"]["Type"] == ["simple"]
        assert unit["Install"]["WantedBy"] == ["multi-user.target"]
        assert unit["Service"]["EnvironmentFile"] == [f"-{tmp_path}/home/main/hotline.env"]
    assert eng["Unit"]["Requires"] == [n.asterisk]
    assert n.asterisk in eng["Unit"]["After"][0].split()
    assert "postgresql.service" in eng["Unit"]["After"][0].split()  # ordering only: SQLite needs none


def test_the_units_run_the_commands_the_hotline_runs(tmp_path):
    s = load(tmp_path)
    _, files = rendered(tmp_path, s)
    n = systemd.names(s.instance)
    ast, eng = parse(files[n.asterisk])["Service"], parse(files[n.engine])["Service"]
    base = [*HOTLINE, "--home", f"{tmp_path}/home", "--instance", "main"]
    assert shlex.split(eng["ExecStart"][0]) == [*base, "serve"]
    assert Path(HOTLINE[0]).is_absolute() and os.access(HOTLINE[0], os.X_OK)
    # Asterisk: exactly what `hotline asterisk up` starts, in the foreground, chrooted
    start = shlex.split(ast["ExecStart"][0])
    want = process.command(s)
    assert start == [tool(want[0]), *want[1:]]
    assert start[:2] == [tool("unshare"), "--mount"]
    assert f"exec chroot {tmp_path}/home/asterisk-root /usr/sbin/asterisk -U asterisk -G asterisk -f -n " \
           f"-C /srv/hotline/main/etc/asterisk.conf" in start[-1]
    assert shlex.split(ast["ExecStartPre"][0]) == [*base, "systemd", "prepare"]
    assert shlex.split(ast["ExecStartPost"][0]) == [*base, "systemd", "wait-booted"]
    assert "ExecReload" not in ast   # a dialplan reload would clear the engine's globals
    assert shlex.split(ast["ExecStop"][0]) == [tool("chroot"), f"{tmp_path}/home/asterisk-root", "/usr/sbin/asterisk",
                                               "-C", "/srv/hotline/main/etc/asterisk.conf", "-rx", "core stop now"]


def test_a_system_asterisk_runs_without_chroot(tmp_path):
    s = load(tmp_path, asterisk_root="/", instance="centre")
    files = systemd.render(s)
    ast = parse(files["hotline-asterisk-centre.service"])["Service"]
    assert shlex.split(ast["ExecStart"][0]) == ["/usr/sbin/asterisk", "-U", "asterisk", "-G", "asterisk", "-f", "-n",
                                                "-C", "/srv/hotline/centre/etc/asterisk.conf"]
    assert shlex.split(ast["ExecStop"][0])[:3] == ["/usr/sbin/asterisk", "-C", "/srv/hotline/centre/etc/asterisk.conf"]


def test_the_settings_file_goes_to_every_hotline_the_units_run(tmp_path):
    conf = tmp_path / "settings.toml"
    conf.write_text('node = "node7"\n')
    s = load(tmp_path, file=conf)
    _, files = rendered(tmp_path, s, settings_file=conf)
    units = [parse(files[name])["Service"] for name in files if name.endswith(".service")]
    lines = [line for u in units for key in ("ExecStart", "ExecStartPre", "ExecStartPost")
             for line in u.get(key, []) if line.startswith(HOTLINE[0])]
    assert len(lines) == 3   # prepare, wait-booted; serve
    for line in lines:
        argv = shlex.split(line)
        assert argv[argv.index("--settings") + 1] == str(conf)


def test_odd_paths_reach_systemd_intact(tmp_path):
    """Spaces, % (a specifier) and $ (a variable elsewhere) survive systemd's parsing:
    verify finds the program, so its path came through unchanged."""
    odd = tmp_path / "bin dir" / "hot%line $HOME"
    odd.parent.mkdir()
    odd.write_text("#!/bin/sh\n")
    odd.chmod(0o755)
    s = load(tmp_path, home=str(tmp_path / "home 100% $x"))
    out, files = rendered(tmp_path, s, hotline=[str(odd)])
    n = systemd.names(s.instance)
    r = verify(out, n.asterisk, n.engine)
    assert (r.returncode, r.stdout + r.stderr) == (0, "")
    assert "EnvironmentFile=-" + f"{tmp_path}/home 100%% $x/main/hotline.env" in files[n.engine]
    assert f'--home "{tmp_path}/home 100%% $$x" --instance main serve' in files[n.engine]


def test_a_program_path_systemd_would_refuse_is_refused_at_render(tmp_path):
    with pytest.raises(ConfigInvalid, match="quotes and backslashes"):
        systemd.render(load(tmp_path), hotline=[str(tmp_path / 'hot"line')])


@pytest.mark.parametrize("bad", ["a\nExecStartPre=/bin/rm -rf /", ";"])
def test_what_cannot_go_into_a_unit_is_refused(bad):
    with pytest.raises(ConfigInvalid):
        systemd.exec_line(["/bin/echo", bad])


def test_an_instance_name_must_make_a_unit_name(tmp_path):
    with pytest.raises(ConfigInvalid, match="instance"):
        systemd.render(load(tmp_path, instance="a b"))


def test_logrotate_rotates_asterisks_logs_for_real(tmp_path):
    s = load(tmp_path)
    log_dir = s.host_path(s.inst_in_root) / "log"
    log_dir.mkdir(parents=True)
    (log_dir / "messages.log").write_text("[notice] one\n")
    (log_dir / "queue_log").write_text("1|NONE|NONE|NONE|QUEUESTART|\n")
    os.chown(log_dir, 65534, 65534)   # like Asterisk's: owned by its (non-root) user
    _, files = rendered(tmp_path, s)
    conf = tmp_path / "units" / "hotline-main.logrotate"
    r = subprocess.run([tool("logrotate"), "-f", "-s", str(tmp_path / "state"), str(conf)],
                       capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stderr) == (0, "")
    assert (log_dir / "messages.log.1").read_text() == "[notice] one\n"
    assert (log_dir / "queue_log.1").exists()
    assert not (log_dir / "verbose.log.1").exists()   # missing (verbose_log off) is fine
    assert "logger reload" in files["hotline-main.logrotate"]


def test_render_warns_about_settings_others_can_read(tmp_path, capsys):
    home = tmp_path / "home"
    env = home / "main" / "hotline.env"
    env.parent.mkdir(parents=True)
    env.write_text("HOTLINE_DB_URL=postgresql+asyncpg://hotline:pw@127.0.0.1/hotline\n")
    env.chmod(0o644)
    out = tmp_path / "out"
    assert cli.main(["--home", str(home), "systemd", "render", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"{env} is mode 0644: chmod 0600 it" in err
    assert sorted(p.name for p in out.iterdir()) == ["hotline-asterisk-main.service", "hotline-engine-main.service",
                                                     "hotline-main.logrotate"]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in out.iterdir())
    env.chmod(0o600)
    assert cli.main(["--home", str(home), "systemd", "render", "--out", str(out)]) == 0
    assert "warning" not in capsys.readouterr().err


def fake_root(tmp_path: Path) -> Path:
    """Enough of an Asterisk root for rendering its config: the binary's place, a passwd."""
    root = tmp_path / "root"
    (root / "usr/sbin").mkdir(parents=True)
    (root / "usr/sbin/asterisk").write_text("")
    (root / "etc").mkdir()
    (root / "etc/passwd").write_text(f"asterisk:x:{os.getuid()}:{os.getgid()}::/var/lib/asterisk:/bin/false\n")
    return root


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_prepare_renders_the_config_and_refuses_a_busy_port(tmp_path):
    root = fake_root(tmp_path)
    sip = free_port(socket.SOCK_DGRAM)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        s = load(tmp_path, asterisk_root=str(root), ami_port=busy, sip_port=sip)
        prompted = []
        with pytest.raises(InstallFailed, match=f"TCP {busy}"):
            systemd.prepare(s, prompted.append)
    assert prompted == [s]
    assert "systemname = node1" in (root / "srv/hotline/main/etc/asterisk.conf").read_text()
    s = load(tmp_path, asterisk_root=str(root), ami_port=free_port(socket.SOCK_STREAM), sip_port=sip)
    systemd.prepare(s, prompted.append)
    assert len(prompted) == 2


def test_prepare_without_asterisk_says_how_to_install_it(tmp_path, capsys):
    assert cli.main(["--home", str(tmp_path), "systemd", "prepare"]) == 2
    assert "[install-failed]" in capsys.readouterr().err
