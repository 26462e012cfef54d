"""A label config the backend cannot serve, connected in a real Label Studio 1.23.2: the error the
user gets names the tag (Label Studio shows only the HTTP reason phrase of the refused ``/setup``).
A config with a servable control beside it connects and is served for that control."""

from __future__ import annotations

import pytest
from label_studio_sdk.core.api_error import ApiError

from tests.support.backend_server import BERT_CLASSIFIER_DIR
from tests.support.e2e_steps import connect
from tests.support.ls_user import LabelStudioUser

pytestmark = pytest.mark.e2e

TEXT = '<View><Text name="text" value="$text"/>'
RATING = '<Rating name="topic" toName="text" maxRating="5"/>'
CHOICES = '<Choices name="tone" toName="text"><Choice value="calm"/><Choice value="angry"/></Choices>'


def test_label_studio_tells_its_user_which_tag_the_backend_cannot_serve(
    ls_user: LabelStudioUser, start_backend
) -> None:
    backend = start_backend(BERT_CLASSIFIER_DIR, workers=1)
    refused = ls_user.create_project("rating", f"{TEXT}{RATING}</View>")
    with pytest.raises(ApiError) as raised:
        ls_user.connect_backend(refused, backend.url)
    message = str(raised.value.body)
    assert "422 Client Error" in message, message
    assert '<Rating name=\\"topic\\">' in message or '<Rating name="topic">' in message, message

    served = ls_user.create_project("both", f"{TEXT}{CHOICES}{RATING}</View>")
    connect(ls_user, served, backend)
