"""Label configs a backend cannot serve get a 422 naming the tag and attribute, never a 500 or a
wrong model: broken structure for any model (``label_studio_ml.studio.label_config``), and controls a
text backend would serve wrongly (``hf_text.data.controls.check_servable``)."""

from __future__ import annotations

import pytest

from bert_classifier.model import BertClassifier
from huggingface_ner.model import HuggingFaceNER
from label_studio_ml.api import create_app
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from label_studio_ml.errors import UnprocessableEntity
from label_studio_ml.studio.label_config import parse_label_config
from tests.conftest import load_fixture

TEXT = '<Text name="text" value="$text"/>'
CHOICES = '<Choice value="positive"/><Choice value="negative"/>'
LABELS = '<Label value="PER"/><Label value="LOC"/>'


def view(*tags: str) -> str:
    return "<View>" + "".join(tags) + "</View>"


STRUCTURE = [
    (
        "toName names no tag",
        view(TEXT, f'<Choices name="label" toName="nope">{CHOICES}</Choices>'),
        ['<Choices name="label">', 'toName="nope"', "no tag"],
    ),
    (
        "one of several toNames names no tag",
        view(TEXT, '<Labels name="label" toName="text,gone">' + LABELS + "</Labels>"),
        ['<Labels name="label">', 'toName="text,gone"', 'name="gone"'],
    ),
    (
        "toName names a control, not an object",
        view(TEXT, f'<Choices name="a" toName="text">{CHOICES}</Choices><Choices name="b" toName="a"/>'),
        ['<Choices name="b">', 'toName="a"', "names <Choices>"],
    ),
    (
        "toName names a Text without value",
        view('<Text name="text"/>', f'<Choices name="label" toName="text">{CHOICES}</Choices>'),
        ['<Choices name="label">', 'toName="text"', "names <Text>", "not an object tag with a value"],
    ),
    (
        "control without toName",
        view(TEXT, f'<Choices name="label">{CHOICES}</Choices>'),
        ['<Choices name="label">', "toName"],
    ),
    (
        "control without name",
        view(TEXT, f'<Labels toName="text">{LABELS}</Labels>'),
        ["<Labels>", "name"],
    ),
    (
        "a name used twice",
        view(TEXT, f'<Choices name="text" toName="text">{CHOICES}</Choices>'),
        ['<Choices name="text">', 'name="text"', "already used by <Text>"],
    ),
    ("not XML", "<View><Text", ["not valid XML"]),
    (
        "a DOCTYPE with entities",
        '<!DOCTYPE v [<!ENTITY a "aaaa">]>' + view(TEXT, '<Header value="&a;"/>'),
        ["DOCTYPE"],
    ),
]


@pytest.mark.parametrize("config,fragments", [case[1:] for case in STRUCTURE], ids=[c[0] for c in STRUCTURE])
def test_broken_structure_is_a_422_naming_tag_and_attribute(config, fragments):
    with pytest.raises(UnprocessableEntity) as raised:
        parse_label_config(config)
    for fragment in fragments:
        assert fragment in raised.value.message


@pytest.mark.parametrize("fixture", ["classification_setup.json", "ner_setup.json"])
def test_label_studio_configs_parse(fixture):
    interface = parse_label_config(load_fixture(fixture)["schema"])
    assert [control.name for control in interface.controls] == ["label"]


def test_a_control_over_several_existing_objects_is_structurally_fine():
    config = view(
        TEXT,
        '<Text name="text2" value="$other"/>',
        f'<Choices name="c" toName="text,text2">{CHOICES}</Choices>',
    )
    assert parse_label_config(config).get_control("c").to_name == ["text", "text2"]


def test_tags_that_need_no_to_name_are_structurally_fine():
    relations = '<Relations name="rel"><Relation value="works for"/></Relations>'
    config = view(TEXT, f'<Labels name="label" toName="text">{LABELS}</Labels>', relations)
    assert [control.name for control in parse_label_config(config).controls] == ["label"]


@pytest.fixture(scope="module")
def clients(tmp_path_factory):
    """Both backends' apps, untrained (``/setup`` checks the config without loading weights)."""
    built = {}
    for model_class in (BertClassifier, HuggingFaceNER):
        settings = Settings(
            model_dir=tmp_path_factory.mktemp(model_class.__name__), auto_configure_webhook=False
        )
        context = BackendContext.for_model(model_class, settings)
        built[model_class.__name__] = create_app(model_class, context=context).test_client()
    return built


UNSERVABLE = [
    (
        "BertClassifier",
        "per-region choices",
        view(TEXT, f'<Choices name="label" toName="text" perRegion="true">{CHOICES}</Choices>'),
        ['<Choices name="label">', 'perRegion="true"'],
    ),
    (
        "BertClassifier",
        "choices read from task data",
        view(TEXT, '<Choices name="label" toName="text" value="$options"/>'),
        ['<Choices name="label">', 'value="$options"'],
    ),
    (
        "BertClassifier",
        "choices over an image",
        view('<Image name="img" value="$image"/>', f'<Choices name="label" toName="img">{CHOICES}</Choices>'),
        ['<Choices name="label">', 'toName="img"', "<Image>"],
    ),
    (
        "BertClassifier",
        "choices over an image beside choices over a text",
        view(
            TEXT,
            '<Image name="img" value="$image"/>',
            f'<Choices name="label" toName="text">{CHOICES}</Choices>',
            f'<Choices name="photo" toName="img">{CHOICES}</Choices>',
        ),
        ['<Choices name="photo">', 'toName="img"', "<Image>"],
    ),
    (
        "BertClassifier",
        "choices over two texts",
        view(
            TEXT,
            '<Text name="text2" value="$other"/>',
            f'<Choices name="label" toName="text,text2">{CHOICES}</Choices>',
        ),
        ['<Choices name="label">', 'toName="text,text2"'],
    ),
    (
        "BertClassifier",
        "a text with a literal value",
        view(
            '<Text name="text" value="just this"/>',
            f'<Choices name="label" toName="text">{CHOICES}</Choices>',
        ),
        ['<Text name="text">', 'value="just this"'],
    ),
    (
        "BertClassifier",
        "a text of an unknown valueType",
        view(
            '<Text name="text" value="$text" valueType="html"/>',
            f'<Choices name="label" toName="text">{CHOICES}</Choices>',
        ),
        ['<Text name="text">', 'valueType="html"'],
    ),
    (
        "BertClassifier",
        "a control pointing at a missing object (issue 14)",
        view(TEXT, f'<Choices name="label" toName="nope">{CHOICES}</Choices>'),
        ['<Choices name="label">', 'toName="nope"'],
    ),
    (
        "HuggingFaceNER",
        "labels over paragraphs",
        view(
            '<Paragraphs name="html" value="$html"/>', f'<Labels name="label" toName="html">{LABELS}</Labels>'
        ),
        ['<Labels name="label">', 'toName="html"', "<Paragraphs>"],
    ),
    (
        "HuggingFaceNER",
        "labels read from task data",
        view(TEXT, '<Labels name="label" toName="text" value="$labels"/>'),
        ['<Labels name="label">', 'value="$labels"'],
    ),
    (
        "HuggingFaceNER",
        "a text of an unknown valueType",
        view(
            '<Text name="text" value="$text" valueType="hypertext"/>',
            f'<Labels name="label" toName="text">{LABELS}</Labels>',
        ),
        ['<Text name="text">', 'valueType="hypertext"'],
    ),
    (
        "HuggingFaceNER",
        "a control pointing at a missing object (issue 14)",
        view(TEXT, f'<Labels name="label" toName="nope">{LABELS}</Labels>'),
        ['<Labels name="label">', 'toName="nope"'],
    ),
]


@pytest.mark.parametrize(
    "model,config,fragments",
    [(c[0], *c[2:]) for c in UNSERVABLE],
    ids=[f"{c[0]}: {c[1]}" for c in UNSERVABLE],
)
def test_a_config_the_backend_cannot_serve_is_a_422_on_setup_naming_tag_and_attribute(
    clients, model, config, fragments
):
    response = clients[model].post("/setup", json={"project": "7.1", "schema": config})
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["error_type"] == "UnprocessableEntity"
    for fragment in fragments:
        assert fragment in body["error"]


def test_a_control_of_another_kind_does_not_stop_the_ner_backend(clients):
    config = view(
        TEXT,
        f'<Labels name="label" toName="text">{LABELS}</Labels>',
        f'<Choices name="mood" toName="text" perRegion="true">{CHOICES}</Choices>',
    )
    assert (
        clients["HuggingFaceNER"].post("/setup", json={"project": "8.1", "schema": config}).status_code == 200
    )
