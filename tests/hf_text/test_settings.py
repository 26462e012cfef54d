"""HFSettings: defaults, parsing and validation of the model environment variables."""

from __future__ import annotations

import pytest
import torch

from hf_text.runtime.device import default_token_budget
from hf_text.settings import EMBEDDED_MODEL_NAME, HFSettings
from hf_text.training.trainer import training_epochs
from label_studio_ml.errors import ConfigurationError


def test_defaults_use_the_embedded_model_and_documented_values() -> None:
    settings = HFSettings.from_env({})
    assert settings.baseline_model_name == EMBEDDED_MODEL_NAME
    assert settings.finetuned_model_name == "finetuned_model"
    assert settings.learning_rate is None
    assert settings.learning_rate_or(2e-5) == 2e-5
    assert (settings.num_train_epochs, settings.weight_decay, settings.keep_versions) == (3.0, 0.01, 3)
    assert settings.multilabel_threshold == 0.5
    assert settings.evaluation_max_examples == 200
    assert settings.min_train_steps == 60
    assert settings.token_budget is None  # the device decides
    assert default_token_budget(torch.device("cpu")) == 4096
    assert default_token_budget(torch.device("cuda")) == 16384


def test_every_variable_is_read() -> None:
    env = {
        "BASELINE_MODEL_NAME": "/models/bert",
        "FINETUNED_MODEL_NAME": "my-model",
        "LEARNING_RATE": "3e-5",
        "NUM_TRAIN_EPOCHS": "1.5",
        "MIN_TRAIN_STEPS": "0",
        "WEIGHT_DECAY": "0",
        "BATCH_SIZE": "4",
        "MAX_LENGTH": "128",
        "SEED": "7",
        "KEEP_VERSIONS": "2",
        "MULTILABEL_THRESHOLD": "0.3",
        "DEVICE": "CPU",
        "TOKEN_BUDGET": "2048",
        "WINDOW_STRIDE": "32",
        "EVALUATION_MAX_EXAMPLES": "0",
        "WARM_LEARNING_RATE_FACTOR": "0.25",
    }
    settings = HFSettings.from_env(env)
    assert settings == HFSettings(
        baseline_model_name="/models/bert",
        finetuned_model_name="my-model",
        learning_rate=3e-5,
        num_train_epochs=1.5,
        min_train_steps=0,
        weight_decay=0.0,
        batch_size=4,
        max_length=128,
        seed=7,
        keep_versions=2,
        multilabel_threshold=0.3,
        device="cpu",
        token_budget=2048,
        window_stride=32,
        evaluation_max_examples=0,
        warm_learning_rate_factor=0.25,
    )
    assert settings.learning_rate_or(2e-5) == 3e-5
    assert settings.hyper_parameters(3e-5)["num_train_epochs"] == 1.5


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LEARNING_RATE", "fast"),
        ("LEARNING_RATE", "0"),
        ("NUM_TRAIN_EPOCHS", "-1"),
        ("WEIGHT_DECAY", "-0.1"),
        ("BATCH_SIZE", "0"),
        ("TOKEN_BUDGET", "10"),
        ("TOKEN_BUDGET", "many"),
        ("MIN_TRAIN_STEPS", "-1"),
        ("MAX_LENGTH", "8"),
        ("KEEP_VERSIONS", "0"),
        ("MULTILABEL_THRESHOLD", "1.5"),
        ("DEVICE", "tpu"),
        ("DEVICE", "cuda:one"),
        ("DEVICE", "cpu:1"),
        ("MODEL_CACHE_SIZE", "0"),
        ("FINETUNED_MODEL_NAME", "../escape"),
        ("FINETUNED_MODEL_NAME", "a/b"),
        ("WINDOW_STRIDE", "200"),
        ("EVALUATION_MAX_EXAMPLES", "-1"),
        ("WARM_LEARNING_RATE_FACTOR", "0"),
        ("WARM_LEARNING_RATE_FACTOR", "2"),
    ],
)
def test_invalid_values_are_configuration_errors(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        HFSettings.from_env({name: value})


@pytest.mark.parametrize(
    ("rows", "batch_size", "epochs", "min_steps", "expected"),
    [
        (40, 16, 3.0, 60, 20.0),  # 3 steps an epoch: 20 epochs reach 60 steps
        (1000, 16, 3.0, 60, 3.0),  # 63 steps an epoch: the configured epochs already suffice
        (40, 16, 3.0, 0, 3.0),  # 0 turns the minimum off
        (5, 16, 1.0, 10, 10.0),  # one short batch an epoch
    ],
)
def test_small_datasets_get_enough_optimizer_steps(
    rows: int, batch_size: int, epochs: float, min_steps: int, expected: float
) -> None:
    settings = HFSettings(batch_size=batch_size, num_train_epochs=epochs, min_train_steps=min_steps)
    assert training_epochs(settings, rows) == pytest.approx(expected)
