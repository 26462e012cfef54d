"""The Docker image and compose file, checked without a Docker engine: hadolint, and parity with what
`make install` / `make run` do (same pip commands, same `label-studio-ml start`), and compose
defaults equal to the code's defaults. (~3 s.)"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import importlib.util
import json
import re
import shlex
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from hf_text.settings import HFSettings
from label_studio_ml import cli
from label_studio_ml.commands import run_both
from label_studio_ml.config import Settings
from tests.support.build_files import (
    Instruction,
    Makefile,
    dockerfile_env,
    dockerfile_instructions,
    dockerfile_pip_installs,
    exec_form,
)

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    return dockerfile_instructions(DOCKERFILE)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _one(instructions: list[Instruction], keyword: str) -> Instruction:
    found = [i for i in instructions if i.keyword == keyword]
    assert len(found) == 1, f"expected one {keyword}, found {len(found)}"
    return found[0]


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [str(BIN / "hadolint"), str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_runs_the_same_pip_installs_as_make_install(instructions: list[Instruction]) -> None:
    makefile = Makefile.parse(ROOT / "Makefile")
    make_installs = [
        install for target in makefile.prerequisites("install") for install in makefile.pip_installs(target)
    ]
    assert make_installs, "found no pip install in the Makefile's install target"
    assert dockerfile_pip_installs(instructions) == make_installs


def test_image_copies_everything_pip_install_needs(instructions: list[Instruction]) -> None:
    copied: list[str] = []
    for instruction in instructions:
        if instruction.keyword == "COPY":
            copied += [Path(source).name for source in shlex.split(instruction.arguments)[:-1]]
        if instruction.keyword == "RUN":
            for word in shlex.split(instruction.arguments.replace("&&", " ")):
                if word.endswith(".txt") or word == ".":
                    needed = "pyproject.toml" if word == "." else word
                    assert needed in copied, f"{needed} used by RUN before it is copied"
    # The packages `pip install -e .` found when make installed the project.
    packages = importlib.metadata.distribution("label-studio-text-backends").read_text("top_level.txt")
    assert packages
    for package in packages.split():
        assert package in copied, f"package {package} is not copied into the image"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert not set(copied) & set(ignored), "a copied path is excluded by .dockerignore"


def test_image_starts_the_same_cli_as_make_run(instructions: list[Instruction], monkeypatch) -> None:
    # `make run` -> python -m label_studio_ml.commands.run_both -> `python -m label_studio_ml.cli start DIR`
    # per backend; capture those commands instead of spawning them.
    (run_line,) = Makefile.parse(ROOT / "Makefile").recipe("run")
    assert shlex.split(run_line)[1:] == ["-m", "label_studio_ml.commands.run_both"]
    commands: list[list[str]] = []

    class Finished:
        def __init__(self, command: list[str], env: dict[str, str]) -> None:
            commands.append(command)

        def poll(self) -> int:
            return 0

        def wait(self) -> int:
            return 0

    monkeypatch.setattr(run_both.subprocess, "Popen", Finished)
    monkeypatch.setattr(run_both.signal, "signal", lambda *args: None)
    assert run_both.main() == 0
    for command in commands:
        assert command[1:4] == ["-m", "label_studio_ml.cli", "start"]

    script = exec_form(_one(instructions, "CMD"))
    assert script[:2] == ["sh", "-c"]
    words = shlex.split(script[2])
    assert words[:3] == ["exec", "label-studio-ml", "start"]
    assert words[3] == "/app/${BACKEND}"
    (script_entry,) = importlib.metadata.entry_points(group="console_scripts", name="label-studio-ml")
    assert script_entry.value == "label_studio_ml.cli:main"


def test_console_script_and_module_are_the_same_cli() -> None:
    def start_help(argv: list[str]) -> str:
        result = subprocess.run([*argv, "start", "--help"], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout.split("\n", 1)[1]  # the usage line names the program differently

    assert start_help([str(BIN / "label-studio-ml")]) == start_help(
        [sys.executable, "-m", "label_studio_ml.cli"]
    )


def test_image_environment_reaches_gunicorn(instructions: list[Instruction]) -> None:
    env = dockerfile_env(instructions)
    env.update(BACKEND="huggingface_ner", PORT="9191", WORKERS="3", THREADS="5")
    words = shlex.split(exec_form(_one(instructions, "CMD"))[2])
    argv = [word.replace("${BACKEND}", env["BACKEND"]) for word in words[2:]]

    options = cli.build_parser(env).parse_args(argv)
    command = cli.gunicorn_command(Path(options.directory), options)

    assert command[1:3] == ["-m", "gunicorn"]
    flags = dict(zip(command[3:-1:2], command[4::2], strict=False))
    assert flags["--bind"] == "0.0.0.0:9191"
    assert flags["--workers"] == "3"
    assert flags["--worker-class"] == "label_studio_ml.server.asgi_worker.Worker"
    assert cli.child_environment(Path(options.directory), options, env)["THREADS"] == "5"  # the bridge's
    assert flags["--chdir"] == "/app/huggingface_ner"


def _load_healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("healthcheck", ROOT / "docker" / "healthcheck.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_healthcheck_script_is_in_the_image_and_answers_like_the_backend(
    instructions: list[Instruction],
) -> None:
    assert exec_form(_one(instructions, "HEALTHCHECK")) == ["python", "/app/docker/healthcheck.py"]
    assert _one(instructions, "WORKDIR").arguments == "/app"
    assert "docker ./docker" in [i.arguments for i in instructions if i.keyword == "COPY"]
    healthcheck = _load_healthcheck()

    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            authorized = self.headers.get("Authorization") == "Basic dTpw"  # u:p
            self.send_response(200 if authorized and self.path == "/health" else 401)
            self.end_headers()
            self.wfile.write(json.dumps({"status": "UP"}).encode())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = str(server.server_address[1])
    try:
        assert healthcheck.check({"PORT": port, "BASIC_AUTH_USER": "u", "BASIC_AUTH_PASS": "p"})[0]
        assert healthcheck.check({"PORT": port}) == (False, "/health answered 401")
    finally:
        server.shutdown()
        server.server_close()
    assert not healthcheck.check({"PORT": port}, timeout_s=2)[0]  # nothing listens any more


def test_image_runs_as_a_non_root_user_with_data_on_volumes(instructions: list[Instruction]) -> None:
    user = _one(instructions, "USER").arguments
    assert user.split(":")[0] not in {"0", "root"}
    assert _one(instructions, "FROM").arguments.startswith("python:3.11-slim")
    volumes = json.loads(_one(instructions, "VOLUME").arguments)
    env = dockerfile_env(instructions)
    assert {env["MODEL_DIR"], env["HF_HOME"]} == set(volumes)


_DEFAULT = re.compile(r"^\$\{(\w+):-(.*)\}$")


def _code_defaults() -> dict[str, Any]:
    """Every variable the code reads, with its default (None: unset)."""
    # The role is no user setting: ``label-studio-ml worker`` sets it (``LABEL_STUDIO_ML_ROLE``).
    defaults = {f.name.upper(): f.default for f in dataclasses.fields(Settings) if f.name != "role"}
    defaults |= {f.name.upper(): f.default for f in dataclasses.fields(HFSettings)}
    options = cli.build_parser({}).parse_args(["start", "dir"])
    defaults |= {"WORKERS": options.workers, "THREADS": options.threads, "GUNICORN_TIMEOUT": options.timeout}
    defaults |= {"LOG_LEVEL": options.log_level}
    return defaults


def _same(compose_default: str, code_default: Any) -> bool:
    if code_default is None:
        return compose_default == ""
    if isinstance(code_default, bool):
        return compose_default.lower() == str(code_default).lower()
    if isinstance(code_default, int | float):
        return float(compose_default) == float(code_default)
    return compose_default == str(code_default)


def _backend_services(compose: dict[str, Any]) -> dict[str, Any]:
    """The services that run a backend (not Redis)."""
    return {name: s for name, s in compose["services"].items() if "BACKEND" in s.get("environment", {})}


#: Defaults the distributed profiles set on purpose: the Redis service of the same compose file.
_DISTRIBUTED_DEFAULTS = {"REDIS_URL": "redis://redis:6379/0"}


def test_compose_lists_every_variable_with_the_code_default(compose: dict[str, Any]) -> None:
    for name, service in _backend_services(compose).items():
        environment = service["environment"]
        distributed = any(p.startswith("distributed") for p in service.get("profiles", []))
        for variable, default in _code_defaults().items():
            assert variable in environment, f"{name} does not list {variable}"
            if variable == "MODEL_DIR":
                assert environment[variable] == "/data/models"
                continue
            match = _DEFAULT.match(str(environment[variable]))
            assert match and match.group(1) == variable, f"{name}: {variable} is not ${{{variable}:-default}}"
            if distributed and variable in _DISTRIBUTED_DEFAULTS:
                default = _DISTRIBUTED_DEFAULTS[variable]
            assert _same(match.group(2), default), (
                f"{name}: {variable} default {match.group(2)!r} != {default!r}"
            )


def test_distributed_profile_runs_redis_replicas_and_workers_that_share_the_version_store(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    assert services["redis"]["image"].startswith("redis:")
    for backend, port in run_both.BACKENDS:
        replica, worker = services[f"{backend}_replica"], services[f"{backend}_worker"]
        gpu_worker = services[f"{backend}_worker_gpu"]
        assert replica["profiles"] == worker["profiles"] == ["distributed"]
        assert gpu_worker["profiles"] == ["distributed-gpu"] and "deploy" in gpu_worker
        assert replica["ports"] == [f"{port}:{port}"] and "ports" not in worker
        command = worker["command"][-1]
        assert "label-studio-ml worker" in command and "$${BACKEND}" in command  # the container's BACKEND
        for service in (replica, worker, gpu_worker):
            assert service["environment"]["BACKEND"] == backend
            assert "redis" in service["depends_on"]
        assert set(replica["volumes"]) == set(worker["volumes"])  # one version store


def test_compose_lists_every_variable_of_the_readme(compose: dict[str, Any]) -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    first_cells = [row.split("|")[1] for row in table.splitlines() if row.startswith("| `")]
    variables = {name for cell in first_cells for name in re.findall(r"`(\w+)`", cell)}
    variables -= {"HOST", "LABEL_STUDIO_HOST"}  # bound to 0.0.0.0 in the image; an alias
    assert len(variables) > 20
    for name, service in _backend_services(compose).items():
        assert not variables - set(service["environment"]) - {"PORT"}, name
        assert "PORT" in service["environment"]


def test_compose_serves_both_backends_on_make_run_ports_with_an_optional_gpu_profile(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for backend, port in run_both.BACKENDS:
        for name in (backend, f"{backend}_gpu"):
            service = services[name]
            assert service["environment"]["BACKEND"] == backend
            assert int(service["environment"]["PORT"]) == port
            assert service["ports"] == [f"{port}:{port}"]
            mounts = {volume.split(":")[1] for volume in service["volumes"]}
            assert mounts == {"/data/models", "/data/hf-cache"}
        assert "profiles" not in services[backend] and "deploy" not in services[backend]
        gpu = services[f"{backend}_gpu"]
        assert gpu["profiles"] == ["gpu"]
        (device,) = gpu["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
