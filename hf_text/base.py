"""``HFTextModel``: what every Hugging Face text backend shares (settings, weights, predict/fit).

A subclass says what kind of head it trains (``TASK_KIND``), which control tag it serves
(``CONTROL_TAG``) and names its task description (``TASK_CLASS``, a ``hf_text.task.TextTask``): targets
from annotation results, the model's label list, training rows, a collator, evaluation and decoding
of predictions. The shared machinery (training, instant learning) receives that task description,
never the model. One fine-tuned model ("head") is trained per control; a version folder holds one
sub-folder per head.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from hf_text.data.collect import Collected, collect, unlabeled_tasks
from hf_text.data.controls import ControlSpec, ControlTags, Example, ignored_controls, require_controls
from hf_text.data.objects import unread_objects
from hf_text.data.task_text import read_text
from hf_text.instant.learning import LearnsInstantly
from hf_text.instant.records import is_instant_version, version_store
from hf_text.instant.visible_version import serving_version
from hf_text.model_store import ModelStore, legacy_version_metas
from hf_text.runtime.backends import TORCH
from hf_text.runtime.head_loading import load_head
from hf_text.runtime.loader import LoadedModel, retire_versions
from hf_text.runtime.serving import Prediction, ServingHead, predict_per_control, version_heads
from hf_text.runtime.startup import prepare_baseline, warm_cache
from hf_text.settings import HFSettings
from hf_text.task import TaskBase, TrainingRun
from hf_text.text.text_limit import CutCounter, cut_text
from hf_text.training.fitting import ControlData, fit_model, prune_versions
from label_studio_ml.context import BackendContext
from label_studio_ml.errors import BackendError, ModelUnavailable
from label_studio_ml.model import VERSIONS_KEY, LabelStudioMLBase
from label_studio_ml.response import ModelResponse
from label_studio_ml.server.status import IGNORED_CONTROLS_KEY, UNREAD_OBJECTS_KEY
from label_studio_ml.studio.client import load_sdk

logger = logging.getLogger(__name__)


class HFTextModel(LearnsInstantly, LabelStudioMLBase):
    """Base of the Hugging Face text backends; see the module docstring for the subclass hooks."""

    TASK_KIND: str = ""
    #: The task description this backend hands the shared machinery (``hf_text.task``).
    TASK_CLASS: type[TaskBase]
    #: The control tag (or tags) this backend serves.
    CONTROL_TAG: ControlTags = ""
    #: The object tags its controls may label (``<Paragraphs>``: a dialogue read as text).
    OBJECT_TAGS: tuple[str, ...] = ("Text",)
    #: ``fit`` publishes its own versions; a fit that had nothing to learn keeps the current one.
    AUTO_BUMP_VERSION = False
    DEFAULT_LEARNING_RATE: float = 2e-5

    def __init__(self, *args: Any, hf_settings: HFSettings | None = None, **kwargs: Any) -> None:
        self._hf_settings = hf_settings
        self._cuts = CutCounter()
        super().__init__(*args, **kwargs)

    def setup(self) -> None:
        """Check the label config can be served (fast: parses XML only, loads no weights), and say
        which of its controls get no predictions and which objects it does not read (``/metrics``,
        a WARNING)."""
        if self.label_config is not None:
            self._report_ignored_controls(self.controls())

    def served_alongside(self) -> set[str]:
        """Names of the config's other controls this model also predicts (none by default)."""
        return set()

    def _report_ignored_controls(self, controls: list[ControlSpec]) -> None:
        name, read = type(self).__name__, {control.to_name for control in controls}
        found = {
            IGNORED_CONTROLS_KEY: ignored_controls(
                self.label_interface, self.CONTROL_TAG, name, self.served_alongside()
            ),
            UNREAD_OBJECTS_KEY: unread_objects(self.label_interface, read, name),
        }
        for key, reasons in found.items():
            if self.get(key) != (reasons or None):  # a WARNING once, not on every /setup
                if reasons:
                    what = "not served" if key == IGNORED_CONTROLS_KEY else "not read"
                    logger.warning("project %s: %s: %s", self.project_id, what, "; ".join(reasons))
                self.set(key, reasons or None)

    # -- process-wide hooks called by ``create_app`` -----------------------------------------
    @classmethod
    def settings_from_env(cls, environ: Mapping[str, str] | None = None) -> HFSettings:
        """The model settings, read and validated once per server (``BackendContext.model_settings``)."""
        return HFSettings.from_env(environ)

    @classmethod
    def settings_in(cls, context: BackendContext) -> HFSettings:
        """The settings ``context`` carries, or the environment's for a context built without them."""
        carried = context.model_settings
        return carried if isinstance(carried, HFSettings) else HFSettings.from_env()

    @classmethod
    def prepare(cls, context: BackendContext) -> None:
        """Validate settings and resolve the baseline model at start-up (a hub id is downloaded);
        refuse one that cannot train or serve this task kind."""
        prepare_baseline(cls.settings_in(context), cls.TASK_KIND)

    @classmethod
    def warm_up(cls, context: BackendContext) -> None:
        """Load the baseline tokenizer and every known project's current weights into the cache;
        with instant learning, the Label Studio SDK too (a project's first annotation reads its
        labeled tasks through it)."""
        settings = cls.settings_in(context)
        warm_cache(context, settings, cls.TASK_KIND)
        if settings.instant_learning:
            load_sdk()

    @classmethod
    def owns_legacy_data(cls, model_dir: Path) -> bool:
        """Whether a pre-namespace ``MODEL_DIR`` is this class's: its versions name this class (or
        it has no trained version at all)."""
        owners = {meta.get("model_class") for meta in legacy_version_metas(model_dir)}
        return not owners or cls.__name__ in owners

    @classmethod
    def available_versions(cls, context: BackendContext, project: str, versions: list[str]) -> list[str]:
        """The published versions whose folders the store still holds."""
        settings = cls.settings_in(context)
        store = ModelStore(context.data_dir, project, settings.finetuned_model_name)
        instant = version_store(context.data_dir, project)
        return [
            version
            for version in versions
            if (instant if is_instant_version(version) else store).meta(version) is not None
        ]

    # -- configuration -------------------------------------------------------------------------
    @property
    def hf_settings(self) -> HFSettings:
        """The model settings: given to the constructor, else the context's."""
        if self._hf_settings is None:
            self._hf_settings = self.settings_in(self.context)
        return self._hf_settings

    @functools.cached_property
    def task(self) -> TaskBase:
        """This backend's task description (``TASK_CLASS``, see ``hf_text.task``), with its settings."""
        return self.TASK_CLASS(self.hf_settings)

    @property
    def device(self) -> torch.device:
        """The torch device for inference and training (the task's)."""
        return self.task.device

    @property
    def token_budget(self) -> int:
        """Tokens per inference batch (the task's): ``TOKEN_BUDGET``, or the device's default."""
        return self.task.token_budget

    @property
    def store(self) -> ModelStore:
        """This project's versioned model store."""
        return ModelStore(self.context.data_dir, self.project_id, self.hf_settings.finetuned_model_name)

    def controls(self) -> list[ControlSpec]:
        """The config's controls this model serves (``UnprocessableEntity`` when there are none)."""
        return require_controls(self.label_interface, self.CONTROL_TAG, type(self).__name__, self.OBJECT_TAGS)

    def trained_meta(self) -> dict[str, Any] | None:
        """Metadata of the version being served, or ``None`` before the first training."""
        return self.store.meta(self.model_version)

    # -- task data -----------------------------------------------------------------------------
    def task_text(self, task: dict[str, Any], control: ControlSpec) -> str | None:
        """The task's text for ``control`` up to ``MAX_TEXT_CHARS`` characters, or ``None`` when
        missing, empty or unreadable (a dialogue: its turns as lines, ``hf_text.data.task_text``). Every
        prediction and training path reads texts here, so the limit holds for all of them
        (``hf_text.text.text_limit``)."""
        data = task.get("data") if isinstance(task, dict) else None
        value = data.get(control.value_key) if isinstance(data, dict) else None
        try:
            text = read_text(self, value, control)
        except BackendError as exc:  # one unreadable task must not fail the others
            logger.warning("task %s: text not readable: %s", task.get("id"), exc.message)
            return None
        if not text:
            return None
        text = self.limited_text(text, (task.get("id"), control.value_key, len(text)))
        return text if text.strip() else None  # blank up to the limit reads as empty

    def limited_text(self, text: str, key: tuple[Any, ...]) -> str:
        """``text`` cut at ``MAX_TEXT_CHARS``; a cut is counted for ``/metrics`` under ``key``."""
        limit = self.hf_settings.max_text_chars
        if len(text) <= limit:
            return text
        self._cuts.record(self, key, len(text), limit)
        return cut_text(text, limit)

    # -- predict -------------------------------------------------------------------------------
    def predict(
        self, tasks: list[dict[str, Any]], context: dict[str, Any] | None = None, **kwargs: Any
    ) -> ModelResponse:
        """One prediction per task, in order; empty results while no head serves (before the first
        training). ``ModelUnavailable`` (503) when the served version cannot be loaded."""
        version = self.model_version
        # The newest instant head answers under the version Label Studio sees (``visible_version``):
        # Label Studio stores a prediction under its item's version, so each item names that one.
        light = self.predict_light(tasks, serving_version(self, version))
        if light is not None:
            items = [{**item, "model_version": version} for item in light]
            return ModelResponse(model_version=version, predictions=items)
        heads = {serving.control.from_name: serving for serving in self.serving_heads(version)}
        # Models of this project's older versions will not be asked again: free them now.
        retire_versions(self.store.root, self.store.root / version)

        def answer(control: ControlSpec, texts: list[str]) -> list[Prediction]:
            serving = heads[control.from_name]
            return self.task.predict_texts(self.load_serving(serving, version), texts, control, serving.head)

        controls = [serving.control for serving in heads.values()]
        gathered = predict_per_control(tasks, controls, self.task_text, answer)
        return ModelResponse(model_version=version, predictions=gathered.serialize(version))

    def serving_heads(self, version: str) -> list[ServingHead]:
        """The heads that answer for ``version``: one per control its trained heads still serve.

        None before the first training. A version this project published whose folder is gone
        (deleted by hand, an incomplete copy) is ``ModelUnavailable``, not silently empty: Label
        Studio would store empty predictions under that version and never ask again.
        """
        meta = self.store.meta(version)
        if meta is None:
            if version in (self.get(VERSIONS_KEY) or []):
                raise ModelUnavailable(
                    f"project {self.project_id}: model version {version} is not in the model store "
                    f"({self.store.root}); restore its folder or train again"
                )
            return []
        return version_heads(meta, self.store.root / version, self.controls(), self.task.head_matches)

    def load_serving(self, serving: ServingHead, version: str) -> LoadedModel:
        """The cached inference model of a serving head (``ModelUnavailable`` names why not)."""
        try:
            return load_head(serving.folder, serving.head, self.TASK_KIND, self.hf_settings, self.device)
        except ModelUnavailable as exc:
            raise ModelUnavailable(
                f"project {self.project_id}, model version {version}: {exc.message} "
                "(loading is retried on a later request)"
            ) from exc

    # -- fit -----------------------------------------------------------------------------------
    def fit(self, event: str, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Train one head per control on every labeled example, publish a version and serve it (at
        once, or as the instant layer decides: ``publish_fine_tuned``); the summary ``/metrics``
        shows (``hf_text.training.fitting``)."""
        settings = self.hf_settings
        learning_rate = settings.learning_rate_or(self.DEFAULT_LEARNING_RATE)
        run = TrainingRun(settings, self.device, self.store, event, learning_rate, type(self).__name__,
                          self.project_id, self.report_progress)  # fmt: skip
        tasks = self.labeled_tasks()
        fitted = fit_model(self.task, run, self.training_data(tasks), len(tasks), self.model_version)
        if fitted.version is not None:
            self.publish_fine_tuned(fitted.version)
            prune_versions(run, fitted.version)
        return fitted.summary

    def training_data(self, tasks: list[dict[str, Any]]) -> list[ControlData]:
        """Every control's examples from the labeled ``tasks``; for a control with any, the texts of
        unlabeled tasks (no version trained on them) for the int8 check, unless none is built."""
        settings = self.hf_settings
        checked = settings.quantization_check_examples if settings.inference_backend != TORCH else 0
        unlabeled = unlabeled_tasks(self, checked)
        controls = []
        for control in self.controls():
            collected = self.gather_examples(tasks, control)
            texts = [self.task_text(task, control) for task in unlabeled] if collected.examples else []
            controls.append(ControlData(control, collected, [text for text in texts if text]))
        return controls

    def gather_examples(self, tasks: list[dict[str, Any]], control: ControlSpec) -> Collected:
        """The control's examples (one per distinct text) and counts of the tasks that gave none."""
        return collect(
            tasks,
            control,
            lambda task: self.task_text(task, control),
            lambda results, text: self.task.target_from_results(results, text, control),
        )

    def collect_examples(self, tasks: list[dict[str, Any]], control: ControlSpec) -> list[Example]:
        """One example per distinct text; a text labeled twice keeps its most recent annotation."""
        return self.gather_examples(tasks, control).examples
