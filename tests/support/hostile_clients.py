"""Hostile clients on real sockets: connections that trickle a request's headers or body, a client
that hangs up before its answer, and the texts and bodies they send."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

#: A classifier project the departing-client tests and ``bench.hostile_clients`` predict for.
PROJECT = "7.1700000000"
CONFIG = (
    '<View><Text name="text" value="$text"/><Choices name="topic" toName="text">'
    '<Choice value="sport"/><Choice value="tech"/></Choices></View>'
)
HEADERS_START = b"POST /predict HTTP/1.1\r\nHost: backend\r\n"
BODY_START = HEADERS_START + b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"


def port_of(url: str) -> int:
    """The port of ``http://host:port``."""
    return int(url.rsplit(":", 1)[1])


@contextmanager
def trickling(port: int, count: int, every_s: float = 0.3) -> Iterator[list[socket.socket]]:
    """``count`` connections to ``port`` on loopback, half trickling header lines and half a body
    (a line or a byte every ``every_s`` seconds) until the block ends."""
    sockets, stop = [], threading.Event()
    try:
        for index in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sockets.append(sock)
            sock.sendall(BODY_START if index % 2 else HEADERS_START)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise

    def trickle() -> None:
        while not stop.wait(every_s):
            for index, sock in enumerate(sockets):
                with contextlib.suppress(OSError):  # a connection the server closed stays closed
                    sock.send(b"x" if index % 2 else b"X-Slow: 1\r\n")

    feeder = threading.Thread(target=trickle, daemon=True)
    feeder.start()
    try:
        yield sockets
    finally:
        stop.set()
        feeder.join()
        for sock in sockets:
            sock.close()


def long_text(seed: int, chars: int) -> str:
    """``chars`` characters of words that differ with ``seed`` (no two texts share a cache entry)."""
    words = [f"word{(seed * 7919 + index) % 5000}" for index in range(chars // 8)]
    return " ".join(words)[:chars]


def predict_body(texts: list[str]) -> dict:
    """A ``/predict`` body of PROJECT with one task per text."""
    tasks = [{"id": index + 1, "data": {"text": text}} for index, text in enumerate(texts)]
    return {"tasks": tasks, "label_config": CONFIG, "project": PROJECT}


def send_and_leave(url: str, body: dict, after_s: float) -> None:
    """POST ``body`` to ``url``'s ``/predict`` and hang up ``after_s`` seconds later, unanswered."""
    payload = json.dumps(body).encode()
    host, port = url.split("//")[1].split(":")
    with socket.create_connection((host, int(port))) as sock:
        head = f"POST /predict HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        sock.sendall(head.encode() + f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
        time.sleep(after_s)
