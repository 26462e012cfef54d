"""Keeps transformers' load report out of the log where it reports what we asked for: a new head.

``from_pretrained`` of a base encoder with a task head logs, as a WARNING, a table of the head's
weights ("MISSING ... newly initialized ... consider training on your downstream task"), and of
the encoder's pre-training head ("UNEXPECTED") or a head of another size ("MISMATCH") it drops. A
training asks for exactly that, every time: the table reads as a fault to whoever watches the log.
Inside ``expected_new_head()`` the report of that thread's loads goes to DEBUG; every other load,
and every real error (transformers raises those after its report), is untouched.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

logger = logging.getLogger(__name__)

#: The logger transformers' ``from_pretrained`` reports its loads on.
REPORT_LOGGER = "transformers.modeling_utils"
_MARK = "LOAD REPORT"
_local = threading.local()


class _ExpectedReport(logging.Filter):
    """Drops the load report of a thread inside ``expected_new_head`` (logged at DEBUG instead)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(_local, "active", False) or _MARK not in str(record.msg):
            return True
        logger.debug("new head initialised as expected: %s", record.getMessage())
        return False


_FILTER = _ExpectedReport()


@contextmanager
def expected_new_head() -> Iterator[None]:
    """Within this block (this thread only), transformers' load report is logged at DEBUG."""
    reporting = logging.getLogger(REPORT_LOGGER)
    if _FILTER not in reporting.filters:
        reporting.addFilter(_FILTER)  # idempotent, and harmless outside the block
    _local.active = True
    try:
        yield
    finally:
        _local.active = False
