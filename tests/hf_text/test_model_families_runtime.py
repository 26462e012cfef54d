"""Every family loads, trains and serves: GPT-2 as published (no pad token), a RoBERTa whose tokenizer
declares no length limit over a position table that starts at ``padding_idx + 1``, the int8 export
by input name with refusals a user can act on, and model folders that cannot serve refused at start
(or a 503 naming the folder), never a 500 per request.

Two tiny random models (hidden size 32, 2 layers) with byte-level BPE tokenizers trained on a few
sentences are built once per module, in a second or two.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    AutoConfig,
    AutoModel,
    BertConfig,
    CamembertConfig,
    DebertaV2Config,
    GPT2Config,
    ModernBertConfig,
    OPTConfig,
    PreTrainedTokenizerFast,
    RobertaConfig,
    XLMRobertaConfig,
)

from bert_classifier.light.embeddings import SentenceEncoder
from bert_classifier.model import BertClassifier
from hf_text.runtime import loader
from hf_text.runtime.backends import INT8_FILE, TORCH, TorchRunner, serving_backend
from hf_text.runtime.loader import SEQUENCE_CLASSIFICATION, load_for_training, load_tokenizer
from hf_text.settings import HFSettings
from hf_text.text.windows import split_windows, window_length
from hf_text.training import quantization
from huggingface_ner import HuggingFaceNER
from label_studio_ml.api import create_app
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from label_studio_ml.errors import ConfigurationError, ModelUnavailable
from tests.classifier.test_fit import CONFIG as MOOD_CONFIG
from tests.classifier.test_fit import annotation, mood_tasks
from tests.hf_text.test_inference_backends import NER_CONFIG, _ner_tasks
from tests.ner.test_model import _task as ner_task
from tests.ner.test_model import js_slice
from tests.support.published_heads import head_folder, publish_head

CPU = torch.device("cpu")
EOS = "<|endoftext|>"
SENTENCES = [
    "Angela Merkel said Berlin is lovely.", "Barack Obama visited Paris in the spring.",
    "So much joy today, so much grief and rage tomorrow.", "Marie Curie studied in Warsaw and Paris.",
    "🎉 Satya Nadella flew to Seattle; Ada Lovelace stayed in London.", "Alan Turing lived in Manchester.",
]  # fmt: skip
#: Far longer than either model's position table: several windows.
LONG = " ".join(SENTENCES * 3)
SMALL = HFSettings(num_train_epochs=2.0, min_train_steps=0, max_length=64, window_stride=8, batch_size=8,
                   learning_rate=3e-4)  # fmt: skip


def _byte_level_bpe(specials: list[str], prefix_space: bool) -> Tokenizer:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=prefix_space)
    tokenizer.decoder = decoders.ByteLevel()
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=specials, initial_alphabet=alphabet)
    tokenizer.train_from_iterator(SENTENCES + [task["data"]["text"] for task in mood_tasks()], trainer)
    return tokenizer


def _save(folder: Path, tokenizer: PreTrainedTokenizerFast, config: Any) -> Path:
    torch.manual_seed(0)
    tokenizer.save_pretrained(folder)
    AutoModel.from_config(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def gpt2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """GPT-2 as published: no pad token, ``n_positions`` for its table, no token type ids."""
    rust = _byte_level_bpe([EOS], prefix_space=False)
    rust.post_processor = processors.ByteLevel(trim_offsets=False)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=rust, bos_token=EOS, eos_token=EOS, unk_token=EOS,
                                        model_input_names=["input_ids", "attention_mask"])  # fmt: skip
    config = GPT2Config(vocab_size=len(tokenizer), n_embd=32, n_layer=2, n_head=2, n_positions=64,
                        bos_token_id=0, eos_token_id=0)  # fmt: skip
    return _save(tmp_path_factory.mktemp("gpt2"), tokenizer, config)


@pytest.fixture(scope="module")
def roberta(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A RoBERTa with 34 position rows (32 usable: they start at ``padding_idx + 1``) and a tokenizer
    that declares no length limit (transformers' 1e30 sentinel)."""
    rust = _byte_level_bpe(["<s>", "<pad>", "</s>", "<unk>", "<mask>"], prefix_space=True)
    rust.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), add_prefix_space=True)
    specials = {"bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>",
                "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>"}  # fmt: skip
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=rust, **specials)
    config = RobertaConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2,
                           num_attention_heads=2, intermediate_size=64, max_position_embeddings=34,
                           type_vocab_size=1, pad_token_id=1, bos_token_id=0, eos_token_id=2)  # fmt: skip
    return _save(tmp_path_factory.mktemp("roberta"), tokenizer, config)


def _fit(model_class: type, config: str, tasks: list[dict], baseline: Path, folder: Path) -> Any:
    loader.clear_cache()
    context = BackendContext.from_settings(Settings(model_dir=folder))
    hf = replace(SMALL, baseline_model_name=str(baseline))
    model = model_class(project_id="5", label_config=config, context=context, hf_settings=hf)
    model.labeled_tasks = lambda: tasks
    model.unlabeled_tasks = lambda limit: []
    model.summary = model.fit("START_TRAINING", {})
    return model


def _predict_long(model: Any, backend: str) -> list[dict]:
    """Predictions for a long text and a short one, served by ``backend`` (``onnx``: the int8 model)."""
    again = type(model)(project_id="5", label_config=model.label_config, context=model.context,
                        hf_settings=replace(model.hf_settings, inference_backend=backend))  # fmt: skip
    tasks = [{"id": 1, "data": {"text": LONG}}, {"id": 2, "data": {"text": "Joy!"}}]
    [long, short] = again.predict(tasks).serialize()
    for region in long["result"]:
        value = region.get("value", {})
        if "start" in value:  # NER: every region is the text it claims
            assert value["text"] == js_slice(LONG, value["start"], value["end"])
    return [long, short]


def _trained_head(model: Any) -> Path:
    return model.store.root / model.model_version / model.trained_meta()["heads"][0]["dir"]


# -- padding --------------------------------------------------------------------------------------------


def test_a_tokenizer_without_a_pad_token_pads_with_eos_and_padding_changes_no_logit(gpt2: Path) -> None:
    loader.clear_cache()
    tokenizer, model = load_for_training(gpt2, SEQUENCE_CLASSIFICATION, num_labels=3)
    assert tokenizer.pad_token == EOS and tokenizer.padding_side == "right"
    # GPT2ForSequenceClassification reads the last token that is not config.pad_token_id.
    assert model.config.pad_token_id == tokenizer.eos_token_id
    rows = [window.features() for window in split_windows(tokenizer, ["Joy!", LONG], 64, 8)]
    runner = TorchRunner(model.eval(), CPU, tokenizer)
    np.testing.assert_allclose(runner(rows[:1])[0], runner(rows)[0], atol=1e-5)  # alone == padded in a batch
    # The classifier's light layers embed with the same baseline (mean over unpadded tokens).
    alone, batched = (SentenceEncoder(gpt2, CPU, 64, 8, 8).embed(texts, 4096)
                      for texts in (["Joy!"], ["Joy!", LONG]))  # fmt: skip
    np.testing.assert_allclose(batched[0], alone[0], atol=1e-5)


@pytest.fixture(scope="module")
def gpt2_classifier(gpt2: Path, tmp_path_factory: pytest.TempPathFactory) -> BertClassifier:
    return _fit(BertClassifier, MOOD_CONFIG, mood_tasks()[::3], gpt2, tmp_path_factory.mktemp("gpt2-clf"))


@pytest.fixture(scope="module")
def gpt2_ner(gpt2: Path, tmp_path_factory: pytest.TempPathFactory) -> HuggingFaceNER:
    return _fit(HuggingFaceNER, NER_CONFIG, _ner_tasks(), gpt2, tmp_path_factory.mktemp("gpt2-ner"))


@pytest.mark.parametrize("trained", ["gpt2_classifier", "gpt2_ner"])
def test_gpt2_trains_and_serves_with_torch_and_its_int8_model(request: pytest.FixtureRequest, trained: str):
    model = request.getfixturevalue(trained)
    assert "failed" not in model.summary["quantization"]["reason"]
    int8 = onnx.load(str(_trained_head(model) / INT8_FILE), load_external_data=False)
    # By name: the attention mask is the mask, not GPT-2's second parameter (past_key_values).
    assert [item.name for item in int8.graph.input] == ["input_ids", "attention_mask"]
    assert [item.name for item in int8.graph.output] == ["logits"]
    assert _predict_long(model, "onnx") and _predict_long(model, "torch")


# -- position limits ----------------------------------------------------------------------------------


def test_windows_respect_each_architecture_s_real_position_limit() -> None:
    no_limit = PreTrainedTokenizerFast(tokenizer_object=_byte_level_bpe([EOS], prefix_space=False))
    assert no_limit.model_max_length > 10**20  # the sentinel is not a limit
    limits = [
        (RobertaConfig(max_position_embeddings=514, pad_token_id=1), 512),
        (XLMRobertaConfig(max_position_embeddings=514, pad_token_id=1), 512),
        (CamembertConfig(max_position_embeddings=514, pad_token_id=1), 512),
        (GPT2Config(n_positions=1024), 1024),
        (BertConfig(max_position_embeddings=512), 512),
        (DebertaV2Config(max_position_embeddings=512), 512),
        (ModernBertConfig(max_position_embeddings=8192), 8192),
    ]
    for config, expected in limits:
        assert window_length(no_limit, config, 100_000) == expected, config.model_type


@pytest.mark.parametrize("model_class, config", [(BertClassifier, MOOD_CONFIG), (HuggingFaceNER, NER_CONFIG)])
def test_a_text_longer_than_roberta_s_position_table_is_read_in_windows(
    roberta: Path, tmp_path: Path, model_class: type, config: str
) -> None:
    assert window_length(load_tokenizer(roberta), AutoConfig.from_pretrained(str(roberta)), 64) == 32
    if model_class is BertClassifier:
        long = {"id": 99, "data": {"text": LONG}, "annotations": [annotation(99, ["sad"])]}
        tasks = [*mood_tasks()[::3], long]
    else:
        tasks = [*_ner_tasks(), ner_task(99, LONG, ("Angela Merkel", "PER"), ("Berlin", "LOC"))]
    model = _fit(model_class, config, tasks, roberta, tmp_path)
    assert model.trained_meta()["heads"][0]["max_length"] == 32
    assert _predict_long(model, "onnx") and _predict_long(model, "torch")


# -- int8 refused ---------------------------------------------------------------------------------------


def test_an_int8_export_that_fails_says_why_and_onnx_serving_says_torch_serves(
    gpt2_classifier: BertClassifier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    def unsupported(*args: Any) -> Path:
        raise RuntimeError("Exporting the operator 'aten::sdpa' to ONNX is not supported.\nmore")

    monkeypatch.setattr(quantization, "export_fp32", unsupported)
    model = gpt2_classifier
    folder = _copy(_trained_head(model), tmp_path / "head", without=(INT8_FILE,))
    settings = replace(model.hf_settings, inference_backend="onnx")
    head = model.trained_meta()["heads"][0]
    record = quantization.publish_int8(model.task, settings, model.controls()[0], head, folder, [])
    reason = record["reason"]  # what fit's summary, and so /metrics, shows of the head
    assert reason.startswith("int8 export failed for GPT2ForSequenceClassification in the ONNX export: ")
    assert "RuntimeError: Exporting the operator 'aten::sdpa'" in reason and "more" not in reason
    assert reason.endswith("INFERENCE_BACKEND=onnx has no int8 model to serve, so torch serves this head")
    with caplog.at_level(logging.WARNING, logger="hf_text.runtime.backends"):
        assert serving_backend("onnx", CPU, {**head, "quantization": record}, folder) == TORCH
    assert f"INFERENCE_BACKEND=onnx: the head in {folder} has no int8 model ({reason})" in caplog.text


# -- bad input ---------------------------------------------------------------------------------------


def _copy(source: Path, folder: Path, without: tuple[str, ...] = ()) -> Path:
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns(*without))
    return folder


def _slow_tokenizer(gpt2: Path, folder: Path) -> Path:
    _copy(gpt2, folder, without=("tokenizer*",))
    (folder / "tokenizer_config.json").write_text('{"tokenizer_class": "ByT5Tokenizer"}')  # Python-only
    return folder


def _opt(gpt2: Path, folder: Path) -> Path:
    """A decoder transformers has a sequence- but no token-classification head for."""
    config = OPTConfig(vocab_size=len(load_tokenizer(gpt2)), hidden_size=32, num_hidden_layers=2, ffn_dim=64,
                       num_attention_heads=2, max_position_embeddings=64, word_embed_proj_dim=32)  # fmt: skip
    return _save(folder, PreTrainedTokenizerFast.from_pretrained(str(gpt2)), config)


#: How to spoil a copy of a good folder (a file returned is overwritten), and what the refusal says.
BROKEN = {
    "slow tokenizer": (_slow_tokenizer, "(ByT5Tokenizer) is a slow (Python) tokenizer without character"),
    "unreadable config": (lambda good, bad: _copy(good, bad) / "config.json", "cannot read the model config"),
    "no weights": (lambda good, bad: _copy(good, bad, without=("*.safetensors",)), "holds no weights"),
    "torn weights": (lambda good, bad: _copy(good, bad) / "model.safetensors", "cannot read the weights"),
    "no token head": (_opt, "is a 'opt' model, and transformers has no token-classification head"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_baseline_that_cannot_serve_is_refused_at_start_naming_the_folder_and_the_reason(
    gpt2: Path, tmp_path: Path, make_context: Any, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    build, reason = BROKEN[case]
    built = build(gpt2, tmp_path / case.replace(" ", "-"))
    if built.is_file():  # a file of the folder to spoil
        built.write_bytes(b"{ not what it should be")
    folder = built if built.is_dir() else built.parent
    monkeypatch.setenv("BASELINE_MODEL_NAME", str(folder))
    with pytest.raises(ConfigurationError) as error:
        create_app(HuggingFaceNER, context=make_context(start_training_each_n_updates=0))
    assert str(folder) in error.value.message and reason in error.value.message
    if case == "no token head":  # the check is per task kind: OPT has a sequence-classification head
        BertClassifier.prepare(make_context())


def test_a_published_head_whose_tokenizer_is_slow_is_a_503_naming_its_folder(make_context: Any) -> None:
    loader.clear_cache()
    model = BertClassifier(project_id="8", label_config=MOOD_CONFIG, context=make_context(),
                           hf_settings=HFSettings(max_length=64, window_stride=16))  # fmt: skip
    publish_head(model, ["happy", "sad", "angry"], winner=0)
    folder = head_folder(model)
    for path in folder.glob("tokenizer*"):
        path.unlink()
    (folder / "tokenizer_config.json").write_text('{"tokenizer_class": "ByT5Tokenizer"}')
    with pytest.raises(ModelUnavailable) as error:
        model.predict([{"id": 1, "data": {"text": "A late goal won the match."}}])
    assert error.value.status == 503 and str(folder) in error.value.message
    assert "slow (Python) tokenizer" in error.value.message
