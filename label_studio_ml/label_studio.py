"""Access to Label Studio for training and task data, through label-studio-sdk 2.x.

The SDK's ``LabelStudio`` client accepts legacy tokens and personal access tokens alike.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlparse

from label_studio_ml.errors import DataAccessDenied, LabelStudioUnavailable

logger = logging.getLogger(__name__)

# Label Studio 1.23.2 ignores ``only_annotated``; this filter returns exactly the labeled tasks.
_LABELED_FILTER = json.dumps(
    {
        "filters": {
            "conjunction": "and",
            "items": [
                {
                    "filter": "filter:tasks:completed_at",
                    "operator": "empty",
                    "value": False,
                    "type": "Datetime",
                }
            ],
        }
    }
)


@dataclass(frozen=True)
class LabelStudioAccess:
    """Where a project's Label Studio lives and the token to call it with."""

    url: str
    api_key: str = field(repr=False)
    timeout_s: float = 60.0

    def client(self) -> Any:
        """A label-studio-sdk 2.x client."""
        from label_studio_sdk import LabelStudio

        return LabelStudio(base_url=self.url, api_key=self.api_key, timeout=self.timeout_s)

    def labeled_tasks(self, project_id: str | int) -> list[dict[str, Any]]:
        """Every labeled task of the project (all pages), as plain dicts with annotations."""
        try:
            pager = self.client().tasks.list(project=int(project_id), fields="all", query=_LABELED_FILTER)
            tasks = [_as_dict(task) for task in pager]
        except Exception as exc:  # the SDK raises many types; all mean "could not read"
            raise LabelStudioUnavailable(
                f"could not read labeled tasks of project {project_id} from {self.url}: {type(exc).__name__}"
            ) from exc
        return [task for task in tasks if task.get("annotations")]

    def is_own_url(self, url: str) -> bool:
        """Whether ``url`` points at this Label Studio (scheme, host and port all match)."""
        own, other = urlparse(self.url), urlparse(url)
        return (own.scheme, own.hostname, own.port) == (other.scheme, other.hostname, other.port)

    def fetch_text(self, url: str, max_bytes: int = 10 * 1024 * 1024) -> str:
        """Download a task's text from Label Studio; any other host is refused."""
        import requests

        absolute = urljoin(self.url + "/", url)
        if not self.is_own_url(absolute):
            raise DataAccessDenied("task data URLs are only fetched from the configured Label Studio host")
        try:
            response = requests.get(absolute, headers=self._auth_header(), timeout=30, stream=True)
            response.raise_for_status()
            body = response.raw.read(max_bytes + 1, decode_content=True)
        except requests.RequestException as exc:
            raise LabelStudioUnavailable(f"could not fetch task data: {type(exc).__name__}") from exc
        if len(body) > max_bytes:
            raise DataAccessDenied(f"task data larger than {max_bytes} bytes")
        return body.decode(response.encoding or "utf-8", errors="replace")

    def _auth_header(self) -> dict[str, str]:
        # Personal access tokens are JWTs (three dot-separated parts); the SDK exchanges them.
        if self.api_key.count(".") == 2:
            token = self.client()._client_wrapper.get_headers().get("Authorization", "")
            return {"Authorization": token}
        return {"Authorization": f"Token {self.api_key}"}


def _as_dict(item: Any) -> dict[str, Any]:
    if isinstance(item, dict):
        return item
    if hasattr(item, "model_dump"):
        return item.model_dump(mode="json")
    return dict(item)
