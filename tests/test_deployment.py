"""The deployment files hold together (no Docker here: they are parsed and checked, not run):
the compose file, the Dockerfile, the systemd units and the lock files."""

from __future__ import annotations

import configparser
import re
from pathlib import Path
from typing import Any

import yaml

from bot.calendar_feed import PATH_PREFIX

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "docs" / "deploy"


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    return data


def test_compose_runs_two_webhook_replicas_behind_a_tls_proxy() -> None:
    services = _compose()["services"]
    assert {"postgres", "redis", "migrate", "parta-1", "parta-2", "caddy"} <= set(services)
    for name in ("parta-1", "parta-2"):
        bot = services[name]
        env = bot["environment"]
        assert env["WEBHOOK_URL"].startswith("https://")
        assert env["DATABASE_URL"].startswith("postgresql://")
        assert env["DATABASE_URL"].split("@")[1].startswith("postgres:")
        assert env["REDIS_URL"].startswith("redis://redis:")
        assert env["WEBHOOK_HOST"] == "0.0.0.0"
        assert float(env["NOTIFY_RATE"]) * 2 <= 30  # the bot's ceiling shared by two
        assert "/readyz" in " ".join(bot["healthcheck"]["test"])
        assert bot["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert bot["volumes"] == ["files:/data"]  # one files volume shared by the replicas
        assert "ports" not in bot  # only the proxy is published
        assert bot["build"]["context"] == "../.."
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"]
        assert services[name]["volumes"]
    caddy = services["caddy"]
    assert {"80:80", "443:443"} <= set(caddy["ports"])
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
    assert set(_compose()["volumes"]) >= {"pgdata", "redis", "files", "caddy_data"}


def test_caddy_forwards_only_the_webhook_and_the_calendar_to_both_replicas() -> None:
    caddyfile = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    webhook_path = (
        "/" + _compose()["services"]["parta-1"]["environment"]["WEBHOOK_URL"].split("/", 3)[3]
    )
    # the calendar subscriptions (docs/calendar.md) must reach the bot as well as Telegram
    assert f"@bot path {webhook_path} {PATH_PREFIX}*\n" in caddyfile
    assert "handle @bot {" in caddyfile
    assert "reverse_proxy parta-1:8080 parta-2:8080" in caddyfile
    assert "health_uri /readyz" in caddyfile
    assert "respond 404" in caddyfile
    assert "/metrics" not in caddyfile


def test_the_env_example_names_every_variable_compose_requires() -> None:
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    required = set(re.findall(r"\$\{(\w+):\?", text))
    example = (DEPLOY / "parta.env.example").read_text(encoding="utf-8")
    names = set(re.findall(r"^(\w+)=", example, flags=re.MULTILINE))
    assert required <= names
    assert {"BOT_TOKEN", "WEBHOOK_SECRET", "CODE_SECRET"} <= names


def test_dockerfile_is_multi_stage_non_root_and_installs_from_the_lock() -> None:
    lines = [
        line.strip()
        for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    stages = [line for line in lines if line.startswith("FROM ")]
    assert len(stages) == 2
    assert stages[0].endswith(" AS build")
    assert any(line.startswith("COPY --from=build ") for line in lines)
    assert any("--require-hashes -r requirements.lock" in line for line in lines)
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users
    assert not users[-1].startswith(("root", "0"))
    assert lines.index(next(line for line in lines if line.startswith("USER "))) > lines.index(
        stages[1]
    )
    assert any(line.startswith("HEALTHCHECK ") for line in lines)
    assert lines[-2:] == ['ENTRYPOINT ["parta"]', 'CMD ["run"]']
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert ignored[1] == "*"  # everything out, then what the image needs back in
    for needed in ("requirements.lock", "bot/", "handlers/", "services/", "db/", "locales/"):
        assert f"!{needed}" in ignored


def test_systemd_units_parse_and_run_parta() -> None:
    units = {}
    for path in sorted((DEPLOY / "systemd").iterdir()):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read_string(path.read_text(encoding="utf-8"))
        units[path.name] = parser
    assert set(units) == {"parta.service", "parta-backup.service", "parta-backup.timer"}
    service = units["parta.service"]["Service"]
    assert service["ExecStart"] == "/opt/parta/bin/parta run"
    assert service["ExecStartPre"] == "/opt/parta/bin/parta db upgrade"
    assert service["User"] == "parta"
    assert service["KillSignal"] == "SIGTERM"
    assert service["RestartPreventExitStatus"] == "2"
    assert units["parta.service"]["Install"]["WantedBy"] == "multi-user.target"
    assert "parta backup" in units["parta-backup.service"]["Service"]["ExecStart"]
    assert units["parta-backup.timer"]["Timer"]["Persistent"] == "true"


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)", line)
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def test_lock_files_pin_every_dependency_with_hashes() -> None:
    runtime = _pins(ROOT / "requirements.lock")
    tools = _pins(ROOT / "requirements-test.lock")
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    declared = re.findall(r'^\s+"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?[<>=!~;\s"]', pyproject, re.M)
    for name in declared:
        key = name.lower().replace("_", "-")
        assert key in runtime or key in tools, f"{name} is not in a lock file"
    assert not set(runtime) & set(tools)  # the test lock adds only what runtime lacks
    for path in (ROOT / "requirements.lock", ROOT / "requirements-test.lock"):
        blocks = re.split(r"\n(?=[A-Za-z0-9])", path.read_text(encoding="utf-8").strip())
        for block in blocks:
            if "==" in block.splitlines()[0]:
                assert "--hash=sha256:" in block, block.splitlines()[0]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "-r requirements.lock -r requirements-test.lock" in ci
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    [command] = [line for line in readme.splitlines() if line.endswith(".venv/bin/pytest")]
    assert command in ci.splitlines()  # the README's test command, verbatim
