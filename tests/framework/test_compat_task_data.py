"""Task data read through the project's own Label Studio: text by URL, uploads, Local Files, cloud URIs.

A fake Label Studio on loopback stands in for 1.23.2 (``tests/e2e`` checks the real one answers the
same URLs); a second loopback host plays a presigned-URL storage or an attacker, and records whether
our token ever reached it.
"""

from __future__ import annotations

import base64
import logging

import pytest

from label_studio_ml.errors import DataAccessDenied, TaskDataUnreadable
from label_studio_ml.studio.client import LabelStudioAccess
from tests.support.fake_label_studio import FakeLabelStudio, Recorder, Served, serving

TOKEN = "secret-token-1234"
ACCENTED = "Zoë Saldaña à Paris, 💩 naïve café"
URL_TEXT_CONFIG = (
    '<View><Text name="t" value="$doc" valueType="url"/>'
    '<Choices name="c" toName="t"><Choice value="a"/><Choice value="b"/></Choices></View>'
)


@pytest.fixture
def ls():
    with serving(FakeLabelStudio(token=TOKEN)) as fake:
        yield fake


@pytest.fixture
def other():
    with serving(Recorder()) as recorder:
        yield recorder


def access(ls: FakeLabelStudio) -> LabelStudioAccess:
    return LabelStudioAccess(url=ls.url, api_key=TOKEN)


def fileuri(uri: str) -> str:
    return base64.urlsafe_b64encode(uri.encode()).decode()


def test_text_without_a_declared_charset_is_decoded_as_utf8(ls) -> None:
    # Label Studio serves an uploaded .txt as "text/plain" with no charset; requests would say ISO-8859-1.
    ls.files["/data/upload/1/note.txt"] = Served(ACCENTED.encode(), "text/plain")
    assert access(ls).fetch_text("/data/upload/1/note.txt", project_id="1") == ACCENTED


def test_a_declared_charset_wins_and_a_utf8_byte_order_mark_is_dropped(ls) -> None:
    ls.files["/data/upload/1/latin.txt"] = Served(
        "Zoë à Paris".encode("latin-1"), "text/plain; charset=ISO-8859-1"
    )
    ls.files["/data/upload/1/bom.txt"] = Served(b"\xef\xbb\xbf" + ACCENTED.encode(), "text/plain")
    ls.files["/data/upload/1/odd.txt"] = Served(ACCENTED.encode(), "text/plain; charset=no-such-charset")
    assert access(ls).fetch_text("/data/upload/1/latin.txt", project_id="1") == "Zoë à Paris"
    assert access(ls).fetch_text("upload/1/bom.txt", project_id="1") == ACCENTED
    assert access(ls).fetch_text("/data/upload/1/odd.txt", project_id="1") == ACCENTED


@pytest.mark.parametrize(
    "uri", ["s3://bucket/doc.txt", "gs://bucket/dir/doc.txt", "azure-blob://container/doc.txt"]
)
def test_cloud_uris_are_resolved_through_the_projects_own_label_studio(ls, uri) -> None:
    ls.storage[uri] = Served(ACCENTED.encode(), "text/plain")
    assert access(ls).fetch_text(uri, project_id="1") == ACCENTED
    (request,) = ls.seen
    assert request.path == f"/projects/1/resolve/?fileuri={fileuri(uri).replace('=', '%3D')}"
    assert request.headers["Authorization"] == f"Token {TOKEN}"


def test_a_presigned_redirect_is_followed_without_our_token(ls, other) -> None:
    ls.storage["s3://bucket/doc.txt"] = f"{other.url}/bucket/doc.txt?X-Amz-Signature=abc"
    other.body = ACCENTED.encode()
    assert access(ls).fetch_text("s3://bucket/doc.txt", project_id="1") == ACCENTED
    (at_storage,) = other.seen
    assert at_storage.path == "/bucket/doc.txt?X-Amz-Signature=abc"
    assert "Authorization" not in at_storage.headers


def test_resolve_urls_label_studio_wrote_are_scoped_to_our_project_on_our_host(ls, other) -> None:
    # Tasks listed by Label Studio carry its HOSTNAME, which need not be the URL the backend uses,
    # and a task id of the author's choosing: only the storage URI is kept.
    ls.storage["s3://bucket/doc.txt"] = Served(b"from storage")
    written = f"{other.url}/tasks/999/resolve/?fileuri={fileuri('s3://bucket/doc.txt')}"
    assert access(ls).fetch_text(written, project_id="1") == "from storage"
    assert other.seen == []
    assert ls.seen[0].path.startswith("/projects/1/resolve/?fileuri=")


@pytest.mark.parametrize(
    "reference",
    [
        "http://{other}/note.txt",
        "https://example.com/note.txt",
        "file:///etc/passwd",
        "/etc/passwd",
        "/api/projects/1/export",
        "/data/upload/1/../../api/users",
        "/data/upload/2/note.txt",
        "upload/2/note.txt",
    ],
)
def test_references_outside_the_projects_label_studio_files_are_refused_unrequested(
    ls, other, reference
) -> None:
    ls.files["/data/upload/2/note.txt"] = Served(b"another project's file")
    with pytest.raises(DataAccessDenied):
        access(ls).fetch_text(reference.format(other=other.url.split("//")[1]), project_id="1")
    assert ls.seen == [] and other.seen == []


def test_uploads_fall_back_to_the_storage_proxy_when_label_studio_keeps_them_in_the_cloud(ls) -> None:
    ls.uploads_on_disk = False
    ls.files["/data/upload/1/cloud.txt"] = Served(b"via proxy")
    assert access(ls).fetch_text("upload/1/cloud.txt", project_id="1") == "via proxy"
    assert [seen.path for seen in ls.seen] == [
        "/data/upload/1/cloud.txt",
        "/storage-data/uploaded/?filepath=upload%2F1%2Fcloud.txt",
    ]


def test_local_files_urls_are_read_through_label_studio(ls) -> None:
    ls.files["local:dir/a b.txt"] = Served(ACCENTED.encode())
    assert access(ls).fetch_text("/data/local-files/?d=dir/a%20b.txt", project_id="1") == ACCENTED


def test_a_missing_file_is_task_data_unreadable_and_names_no_secret(ls) -> None:
    with pytest.raises(TaskDataUnreadable) as caught:
        access(ls).fetch_text("s3://bucket/missing.txt", project_id="1")
    assert TOKEN not in caught.value.message


def test_resolve_text_reads_a_url_through_the_projects_label_studio(ls, make_context) -> None:
    from label_studio_ml.model import LabelStudioMLBase

    ls.storage["gs://bucket/doc.txt"] = Served(ACCENTED.encode(), "text/plain")
    context = make_context(label_studio_url=ls.url, label_studio_api_key=TOKEN)
    model = LabelStudioMLBase(project_id="1", label_config=URL_TEXT_CONFIG, context=context)
    assert model.resolve_text("gs://bucket/doc.txt", "url") == ACCENTED
    assert model.resolve_text("gs://bucket/doc.txt", None) == "gs://bucket/doc.txt"


def test_an_hf_model_logs_an_unreadable_text_and_reads_the_others(ls, make_context, caplog) -> None:
    from bert_classifier.model import BertClassifier

    ls.files["/data/upload/1/ok.txt"] = Served(ACCENTED.encode(), "text/plain")
    context = make_context(label_studio_url=ls.url, label_studio_api_key=TOKEN)
    model = BertClassifier(project_id="1", label_config=URL_TEXT_CONFIG, context=context)
    (control,) = model.controls()
    with caplog.at_level(logging.WARNING):
        assert model.task_text({"id": 5, "data": {"doc": "/data/upload/1/ok.txt"}}, control) == ACCENTED
        assert model.task_text({"id": 6, "data": {"doc": "s3://bucket/gone.txt"}}, control) is None
        assert model.task_text({"id": 7, "data": {"doc": "https://example.com/x.txt"}}, control) is None
    reasons = [record.getMessage() for record in caplog.records if "not readable" in record.getMessage()]
    assert len(reasons) == 2 and "task 6" in reasons[0] and "task 7" in reasons[1]
    assert all(TOKEN not in reason for reason in reasons)
