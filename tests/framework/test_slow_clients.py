"""Slow clients against the real server (``label-studio-ml start``, gunicorn, one worker).

Under gunicorn's threaded worker, eight sockets trickling a request's headers or body held all
eight threads and ``/health`` stopped answering. Now connections are read on an event loop and
only whole requests reach a thread; a request must arrive within ``REQUEST_READ_TIMEOUT_SECONDS``.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator

import pytest
import requests

from tests.conftest import BACKENDS, load_fixture
from tests.support.hostile_clients import BODY_START, HEADERS_START, port_of, trickling
from tests.support.servers import backend

KEYWORD = BACKENDS / "keyword"
SLOW_CLIENTS = 64
#: Generous: the point is "answers at all", not how fast (tests never assert timings).
ANSWER_TIMEOUT_S = 10


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {"MODEL_DIR": str(tmp_path_factory.mktemp("slow") / "models"), "THREADS": "8"}
    with backend(KEYWORD, env, workers=1) as url:
        yield url


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    models = tmp_path_factory.mktemp("strict") / "models"
    env = {"MODEL_DIR": str(models), "REQUEST_READ_TIMEOUT_SECONDS": "2"}
    with backend(KEYWORD, env, workers=1) as url:
        yield url


def test_64_slow_clients_leave_health_and_a_one_task_predict_answering(server: str) -> None:
    predict = load_fixture("classification_predict.json")
    predict["tasks"] = predict["tasks"][:1]
    with trickling(port_of(server), SLOW_CLIENTS):
        time.sleep(1.0)  # every slow client has connected and sent its first bytes
        for _ in range(3):
            assert requests.get(f"{server}/health", timeout=ANSWER_TIMEOUT_S).json()["status"] == "UP"
            answered = requests.post(f"{server}/predict", json=predict, timeout=ANSWER_TIMEOUT_S)
            assert answered.status_code == 200
            assert len(answered.json()["results"]) == 1


def read_until_closed(sock: socket.socket, keep_sending: bytes, within_s: float) -> bytes:
    """What the server sends until it closes the connection, sending ``keep_sending`` meanwhile;
    fails when the connection is still open after ``within_s`` seconds."""
    sock.settimeout(0.3)
    received, deadline = b"", time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            with contextlib.suppress(OSError):
                sock.send(keep_sending)
            continue
        except OSError:
            return received
        if not chunk:
            return received
        received += chunk
    raise AssertionError(f"still open after {within_s} s; received {received[:200]!r}")


def test_headers_that_do_not_arrive_in_time_get_408_and_the_connection_closed(strict_server: str) -> None:
    with socket.create_connection(("127.0.0.1", port_of(strict_server))) as sock:
        sock.sendall(HEADERS_START)
        answer = read_until_closed(sock, b"X-Slow: 1\r\n", within_s=15)
    assert answer.startswith(b"HTTP/1.1 408")


def test_a_connection_that_never_sends_is_closed(strict_server: str) -> None:
    with socket.create_connection(("127.0.0.1", port_of(strict_server))) as sock:
        read_until_closed(sock, b"", within_s=15)


def test_a_body_that_does_not_arrive_in_time_gets_a_json_408(strict_server: str) -> None:
    with socket.create_connection(("127.0.0.1", port_of(strict_server))) as sock:
        sock.sendall(BODY_START)
        answer = read_until_closed(sock, b"x", within_s=15)
    assert answer.startswith(b"HTTP/1.1 408")
    assert b'"error_type": "RequestTimeout"' in answer


def test_a_body_announced_over_the_limit_is_refused_before_it_is_sent(strict_server: str) -> None:
    with socket.create_connection(("127.0.0.1", port_of(strict_server))) as sock:
        sock.sendall(HEADERS_START + b"Content-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n")
        answer = read_until_closed(sock, b"", within_s=15)
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"MAX_REQUEST_BYTES" in answer


def test_the_next_request_works_after_the_refusals(strict_server: str) -> None:
    assert requests.get(f"{strict_server}/health", timeout=ANSWER_TIMEOUT_S).status_code == 200
