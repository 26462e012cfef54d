"""What a person running the backends reads: a ready line per backend, no HTTP chatter at INFO."""

from __future__ import annotations

import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest

from label_studio_ml.commands.run_both import is_ready, listen_url, ready_line
from label_studio_ml.config import Settings
from label_studio_ml.logs import configure_logging


@pytest.fixture
def root_logging():
    """configure_logging changes process-wide loggers: put them back afterwards."""
    root, httpx = logging.getLogger(), logging.getLogger("httpx")
    saved = root.level, list(root.handlers), httpx.level
    yield
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    httpx.setLevel(saved[2])


def test_http_requests_of_the_sdk_stay_out_of_info_but_show_at_debug(root_logging) -> None:
    configure_logging("INFO")
    # httpx logs every request at INFO: a line per page of tasks, a 404 past the last page.
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
    assert logging.getLogger("httpx").isEnabledFor(logging.WARNING)
    configure_logging("DEBUG")
    assert logging.getLogger("httpx").isEnabledFor(logging.DEBUG)


def test_the_ready_line_says_where_and_whether_basic_auth_is_on() -> None:
    url = listen_url(9090, {})
    assert ready_line("bert_classifier", url, Settings()) == (
        "bert_classifier ready at http://localhost:9090; status page http://localhost:9090/status "
        "(basic auth off: anyone who reaches the port can use it)"
    )
    protected = Settings(basic_auth_user="ann", basic_auth_pass="secret-pass")
    assert ready_line("huggingface_ner", listen_url(9091, {"HOST": "10.0.0.5"}), protected) == (
        "huggingface_ner ready at http://10.0.0.5:9091; status page http://10.0.0.5:9091/status "
        "(basic auth on)"
    )


def test_ready_means_health_answers_200_with_the_configured_credentials() -> None:
    answers = {"status": 503}

    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            authorized = self.headers.get("Authorization", "").startswith("Basic ")
            self.send_response(answers["status"] if authorized else 401)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    protected = Settings(basic_auth_user="ann", basic_auth_pass="secret-pass")
    try:
        assert not is_ready(url, protected)  # still loading: 503
        answers["status"] = 200
        assert is_ready(url, protected) and not is_ready(url, Settings())  # 401 without credentials
    finally:
        server.shutdown()
        server.server_close()
    assert not is_ready(url, protected)  # nobody listening
