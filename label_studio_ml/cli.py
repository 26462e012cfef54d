"""``label-studio-ml start DIR``: serve a backend directory's ``_wsgi.py`` app with gunicorn;
``label-studio-ml create NAME`` (alias ``init``): scaffold a new backend directory;
``label-studio-ml status URL``: a running backend's projects and trainings in the terminal.

Upstream's flags are accepted where they mean something here: ``--root-dir``, ``-p``, ``--model-dir``,
``-d/--debug``, ``--basic-auth-user/--basic-auth-pass``; ``create --script/--from``, ``--force``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from label_studio_ml.commands import status as status_command
from label_studio_ml.commands.scaffold import ScaffoldError, create_backend, next_steps, source_from_script
from label_studio_ml.config import env_int
from label_studio_ml.errors import ConfigurationError
from label_studio_ml.state.files import keep_new_files_private
from label_studio_ml.telemetry.multiproc import choose_dir


def _env_int(env: Mapping[str, str], name: str, default: int) -> int:
    # The CLI reports a bad value as a usage error rather than a traceback.
    try:
        return env_int(env, name, default, minimum=1)
    except ConfigurationError as exc:
        raise SystemExit(exc.message) from None


def _add_server_options(parser: argparse.ArgumentParser, env: Mapping[str, str]) -> None:
    parser.add_argument("--host", default=env.get("HOST", "0.0.0.0"), help="bind address (env HOST)")
    parser.add_argument("-p", "--port", type=int, default=_env_int(env, "PORT", 9090), help="port (env PORT)")
    parser.add_argument(
        "--workers", type=int, default=_env_int(env, "WORKERS", 1), help="gunicorn worker processes (WORKERS)"
    )
    parser.add_argument(
        "--threads", type=int, default=_env_int(env, "THREADS", 8), help="threads per worker (env THREADS)"
    )
    parser.add_argument("--log-level", default=env.get("LOG_LEVEL", "INFO"), help="log level (env LOG_LEVEL)")
    parser.add_argument("-d", "--debug", action="store_true", help="log level DEBUG")
    parser.add_argument("--model-dir", default=None, help="state and trained versions (env MODEL_DIR)")
    parser.add_argument("--basic-auth-user", default=None, help="protect every route (env BASIC_AUTH_USER)")
    parser.add_argument("--basic-auth-pass", default=None, help="password (env BASIC_AUTH_PASS)")
    parser.add_argument("--timeout", type=int, default=_env_int(env, "GUNICORN_TIMEOUT", 300))


def build_parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    """The ``label-studio-ml`` argument parser."""
    parser = argparse.ArgumentParser(prog="label-studio-ml", description="Serve a Label Studio ML backend.")
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="start a backend directory with gunicorn")
    start.add_argument("directory", help="backend directory containing _wsgi.py (e.g. ./bert_classifier)")
    start.add_argument("--root-dir", default=".", help="directory the backend directory is relative to")
    _add_server_options(start, env)
    worker = commands.add_parser("worker", help="run RQ training workers for a backend (needs REDIS_URL)")
    worker.add_argument("directory", help="backend directory containing _wsgi.py (e.g. ./bert_classifier)")
    worker.add_argument(
        "--workers", type=int, default=_env_int(env, "TRAINING_WORKERS", 1), help="worker processes"
    )
    worker.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    worker.add_argument("--log-level", default=env.get("LOG_LEVEL", "INFO"), help="log level (env LOG_LEVEL)")
    create = commands.add_parser("create", aliases=["init"], help="scaffold a new backend directory")
    create.add_argument("name", help="directory to create (its name also names the model class)")
    create.add_argument("--root-dir", default=".", help="directory to create it in")
    create.add_argument(
        "--script", "--from", dest="script", default=None, help="serve an existing model: path.py[:ClassName]"
    )
    create.add_argument("--force", action="store_true", help="replace the directory if it exists")
    status = commands.add_parser("status", help="print a running backend's projects and trainings")
    status.add_argument("url", help="the backend's URL (e.g. http://localhost:9090)")
    status.add_argument(
        "--user", default=env.get("BASIC_AUTH_USER"), help="basic auth user (env BASIC_AUTH_USER)"
    )
    status.add_argument(  # from the environment by default: a password on the command line shows in `ps`
        "--password", default=env.get("BASIC_AUTH_PASS"), help="basic auth password (env BASIC_AUTH_PASS)"
    )
    return parser


#: The ASGI app gunicorn loads: the backend's ``_wsgi:app`` behind the buffering bridge.
BRIDGE = "label_studio_ml.server.asgi_bridge:serve"
#: gunicorn's config: only server hooks, for the workers' shared Prometheus values.
HOOKS = "python:label_studio_ml.telemetry.gunicorn_hooks"


def gunicorn_command(directory: Path, options: argparse.Namespace) -> list[str]:
    """The gunicorn command line that serves ``directory/_wsgi.py``'s ``app``."""
    directory = directory.resolve()
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"{options.host}:{options.port}",
        "--workers",
        str(options.workers),
        # One event loop per worker reads every connection; whole requests go to THREADS threads
        # (``label_studio_ml.server.asgi_bridge``), so slow clients hold no thread.
        "--worker-class",
        "label_studio_ml.server.asgi_worker.Worker",
        "--asgi-lifespan",
        "on",
        # Empties the workers' Prometheus directory at start, drops a dead worker's live gauges.
        "--config",
        HOOKS,
        "--timeout",
        str(options.timeout),
        "--graceful-timeout",
        "30",
        "--log-level",
        "debug" if options.debug else options.log_level.lower(),
        "--access-logfile",
        "-",
        "--chdir",
        str(directory),
        # The directory itself (for upstream-style `from model import ...`) and the working dir.
        "--pythonpath",
        f"{directory},{Path.cwd()}",
        f"{BRIDGE}('_wsgi:app')",
    ]


def child_environment(directory: Path, options: argparse.Namespace, env: Mapping[str, str]) -> dict[str, str]:
    """The environment gunicorn runs with: options become the variables the app reads."""
    child = dict(env)
    child["LOG_LEVEL"] = "DEBUG" if options.debug else options.log_level.upper()
    child["THREADS"] = str(options.threads)  # the bridge's request threads (gunicorn's are not used)
    if options.model_dir:
        child["MODEL_DIR"] = str(Path(options.model_dir).resolve())
    if options.basic_auth_user is not None:
        child["BASIC_AUTH_USER"] = options.basic_auth_user
    if options.basic_auth_pass is not None:
        child["BASIC_AUTH_PASS"] = options.basic_auth_pass
    if not child.get("MODEL_DIR"):
        # gunicorn changes directory; pin a per-backend default before it does.
        child["MODEL_DIR"] = str(Path.cwd() / "models" / directory.resolve().name)
    return child


def _exec(directory: Path, options: argparse.Namespace) -> None:
    if not (directory / "_wsgi.py").is_file():
        raise SystemExit(f"{directory} has no _wsgi.py")
    env = child_environment(directory, options, os.environ)
    choose_dir(env)  # every worker counts into one directory; a scrape adds them up
    command = gunicorn_command(directory, options)
    keep_new_files_private()  # gunicorn inherits it; ``create_app`` sets it too, for other launchers
    # exec keeps our PID: whoever started us can stop gunicorn by it.
    os.execve(command[0], command, env)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``label-studio-ml`` console script."""
    options = build_parser(os.environ).parse_args(argv)
    if options.command == "start":
        _exec(Path(options.root_dir) / options.directory, options)
    elif options.command == "worker":
        sys.exit(_worker(Path(options.directory), options))
    elif options.command == "status":
        sys.exit(status_command.main(options.url, options.user, options.password))
    else:  # create / init
        try:
            source = source_from_script(options.script) if options.script else None
            directory = create_backend(Path(options.root_dir) / options.name, source, force=options.force)
        except ScaffoldError as exc:
            raise SystemExit(str(exc)) from None
        print(next_steps(directory))


def _worker(directory: Path, options: argparse.Namespace) -> int:
    from label_studio_ml.commands import worker

    if not (directory / "_wsgi.py").is_file():
        raise SystemExit(f"{directory} has no _wsgi.py")
    os.environ["LOG_LEVEL"] = options.log_level.upper()
    keep_new_files_private()  # the workers write the state and the model store too
    if not os.environ.get("MODEL_DIR"):
        os.environ["MODEL_DIR"] = str(Path.cwd() / "models" / directory.resolve().name)
    if options.workers > 1:
        argv = [sys.executable, "-m", "label_studio_ml.cli", "worker", str(directory)]
        argv += ["--log-level", options.log_level]
        return worker.run_many(directory, options.workers, [*argv, *(["--burst"] if options.burst else [])])
    return worker.run_one(directory, burst=options.burst)


def serve(wsgi_file: str, argv: Sequence[str] | None = None) -> None:
    """``python DIR/_wsgi.py [options]`` starts the same gunicorn server as ``start DIR``."""
    parser = argparse.ArgumentParser(prog=f"python {wsgi_file}")
    _add_server_options(parser, os.environ)
    options = parser.parse_args(argv)
    _exec(Path(wsgi_file).resolve().parent, options)


if __name__ == "__main__":
    main()
