"""TF1's stock SessionRunHooks (tf.train.StopAtStepHook, CheckpointSaverHook, ...), with TF1's timing
rules: a hook asks for its tensors in `before_run` (a SessionRunArgs), reads them in `after_run`, and
stops the loop with `run_context.request_stop()`. MonitoredSession (monitored_session.py) drives them."""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import logging
from .._types import StrPath
from ..graph import Tensor, get_default_graph
from .optimizers import get_global_step
from .optimizers_extra import (
    Coordinator,
    SessionRunArgs,
    SessionRunContext,
    SessionRunHook,
    SessionRunValues,
)

if TYPE_CHECKING:
    from ..session import Session


class NanLossDuringTrainingError(RuntimeError):
    def __str__(self) -> str:
        return "NaN loss during training."


def global_step(sess: Session, global_step_tensor: Any) -> int:
    """The global step's value as a Python int (tf.train.global_step)."""
    if isinstance(global_step_tensor, str):
        global_step_tensor = sess.graph.as_graph_element(global_step_tensor)
    return int(sess.run(global_step_tensor))


def _require_global_step(hook):
    step = get_global_step()
    if step is None:
        raise RuntimeError(f"Global step should be created to use {hook}: call "
                           f"tf.train.get_or_create_global_step() before the session")
    return step


def _one_of(secs, steps, what):
    if (secs is None) == (steps is None):
        raise ValueError(f"{what}: exactly one of every_secs and every_steps (save_secs/save_steps, "
                         f"every_n_secs/every_n_iter) should be given, got {secs!r} and {steps!r}")


class SecondOrStepTimer:
    """Fires every `every_secs` seconds or every `every_steps` steps (exactly one is given); the first
    step asked about always fires."""

    def __init__(self, every_secs: float | None = None, every_steps: int | None = None) -> None:
        _one_of(every_secs, every_steps, "SecondOrStepTimer")
        self._every_secs, self._every_steps = every_secs, every_steps
        self.reset()

    def reset(self) -> None:
        self._last_time = self._last_step = None

    def should_trigger_for_step(self, step: int) -> bool:
        if self._last_step is None:
            return True
        if self._last_step == step:
            return False
        if self._every_secs is not None:
            return time.time() >= self._last_time + self._every_secs
        return step >= self._last_step + self._every_steps

    def update_last_triggered_step(self, step: int) -> tuple[float | None, int | None]:
        """Mark `step` as fired; returns the seconds and steps since the previous firing (None, None at first)."""
        now = time.time()
        elapsed = (None, None) if self._last_time is None else (now - self._last_time, step - self._last_step)
        self._last_time, self._last_step = now, step
        return elapsed

    def last_triggered_step(self) -> int | None:
        return self._last_step


class StopAtStepHook(SessionRunHook):
    """Requests a stop once the global step reaches `last_step` (or `num_steps` past its value when the
    session starts)."""

    def __init__(self, num_steps: int | None = None, last_step: int | None = None) -> None:
        if (num_steps is None) == (last_step is None):
            raise ValueError("StopAtStepHook: exactly one of num_steps and last_step should be given")
        if num_steps is not None and num_steps < 0:
            raise ValueError(f"StopAtStepHook: num_steps must be >= 0, got {num_steps}")
        self._num_steps, self._last_step = num_steps, last_step

    def begin(self) -> None:
        self._global_step = _require_global_step("StopAtStepHook")

    def after_create_session(self, session: Session, coord: Coordinator | None) -> None:
        step = int(session.run(self._global_step))
        if self._last_step is None:
            self._last_step = step + self._num_steps

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs | None:
        return SessionRunArgs(self._global_step)

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        # the step fetched may be the one before the update: read it again when it may have reached the end
        if (int(run_values.results) + 1 >= self._last_step
                and int(run_context.session.run(self._global_step)) >= self._last_step):
            run_context.request_stop()


class NanTensorHook(SessionRunHook):
    """Raises NanLossDuringTrainingError (or, with fail_on_nan_loss=False, logs and stops) when the loss is NaN."""

    def __init__(self, loss_tensor: Tensor, fail_on_nan_loss: bool = True) -> None:
        self._loss, self._fail = loss_tensor, fail_on_nan_loss

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs | None:
        return SessionRunArgs(self._loss)

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        if np.isnan(run_values.results).any():
            if self._fail:
                logging.error("Model diverged with loss = NaN.")
                raise NanLossDuringTrainingError
            logging.warning("Model diverged with loss = NaN.")
            run_context.request_stop()


def _as_tensors(tensors, graph):
    """Names (strings) resolved in `graph`; other fetches kept."""
    return [graph.as_graph_element(t) if isinstance(t, str) else t for t in tensors]


class LoggingTensorHook(SessionRunHook):
    """Logs (tf.logging.info) tensors' values every `every_n_iter` runs or `every_n_secs` seconds, as
    `tag = value, ...` (or as `formatter(dict)` gives), and once more at the end with `at_end`."""

    def __init__(self, tensors: Mapping[str, Any] | Sequence[Any], every_n_iter: int | None = None,
                 every_n_secs: float | None = None, at_end: bool = False,
                 formatter: Callable[[dict[str, Any]], str] | None = None) -> None:
        only_at_end = at_end and every_n_iter is None and every_n_secs is None
        if not only_at_end:
            _one_of(every_n_secs, every_n_iter, "LoggingTensorHook")
        if every_n_iter is not None and every_n_iter <= 0:
            raise ValueError(f"LoggingTensorHook: every_n_iter must be positive, got {every_n_iter}")
        if isinstance(tensors, Mapping):
            self._tags, values = list(tensors), list(tensors.values())
        else:
            values = list(tensors)
            self._tags = [t if isinstance(t, str) else t.name for t in values]
        self._values = values
        self._timer = None if only_at_end else SecondOrStepTimer(every_n_secs, every_n_iter)
        self._at_end, self._formatter = at_end, formatter

    def begin(self) -> None:
        self._fetches = _as_tensors(self._values, get_default_graph())
        self._iter = 0
        if self._timer is not None:
            self._timer.reset()

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs | None:
        self._should_log = self._timer is not None and self._timer.should_trigger_for_step(self._iter)
        return SessionRunArgs(self._fetches) if self._should_log else None

    def _log(self, values):
        elapsed, _ = self._timer.update_last_triggered_step(self._iter) if self._timer else (None, None)
        values = dict(zip(self._tags, values))
        if self._formatter is not None:
            logging.info(self._formatter(values))
            return
        with np.printoptions(suppress=True):
            text = ", ".join(f"{tag} = {values[tag]!s}" for tag in self._tags)
        if elapsed is None:
            logging.info("%s", text)
        else:
            logging.info("%s (%.3f sec)", text, elapsed)

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        if self._should_log:
            self._log(run_values.results)
        self._iter += 1

    def end(self, session: Session) -> None:
        if self._at_end:
            self._log(session.run(self._fetches))


class CheckpointSaverListener:
    """Told around each save of a CheckpointSaverHook; `after_save` returning True stops training."""

    def begin(self) -> None:
        pass

    def before_save(self, session: Session, global_step_value: int) -> None:
        pass

    def after_save(self, session: Session, global_step_value: int) -> bool | None:
        pass

    def end(self, session: Session, global_step_value: int) -> None:
        pass


def _saver_of(hook_saver, scaffold, what):
    if hook_saver is not None:
        return hook_saver
    if scaffold is not None:
        return scaffold.saver
    from ..graph import GraphKeys
    savers = get_default_graph().get_collection(GraphKeys.SAVERS)
    if len(savers) != 1:
        raise RuntimeError(f"{what} needs a saver: pass saver= or scaffold=, or put exactly one Saver in "
                           f"the SAVERS collection (it holds {len(savers)})")
    return savers[0]


class CheckpointSaverHook(SessionRunHook):
    """Saves `<checkpoint_dir>/<checkpoint_basename>-<global step>` when the session starts, every
    `save_steps` steps or `save_secs` seconds, and at the end (unless that step was just saved)."""

    def __init__(self, checkpoint_dir: StrPath, save_secs: float | None = None, save_steps: int | None = None,
                 saver: Any = None, checkpoint_basename: str = "model.ckpt", scaffold: Any = None,
                 listeners: Sequence[CheckpointSaverListener] | None = None) -> None:
        if saver is not None and scaffold is not None:
            raise ValueError("CheckpointSaverHook: pass saver or scaffold, not both")
        self._timer = SecondOrStepTimer(save_secs, save_steps)
        self._dir, self._saver, self._scaffold = os.fspath(checkpoint_dir), saver, scaffold
        self._save_path = os.path.join(self._dir, checkpoint_basename)
        self._listeners = list(listeners or [])

    def begin(self) -> None:
        self._global_step = _require_global_step("CheckpointSaverHook")
        os.makedirs(self._dir, exist_ok=True)
        for listener in self._listeners:
            listener.begin()

    def after_create_session(self, session: Session, coord: Coordinator | None) -> None:
        step = int(session.run(self._global_step))
        self._save(session, step)
        self._timer.update_last_triggered_step(step)

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs | None:
        return SessionRunArgs(self._global_step)

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        if self._timer.should_trigger_for_step(int(run_values.results) + 1):
            step = int(run_context.session.run(self._global_step))
            if self._timer.should_trigger_for_step(step):
                self._timer.update_last_triggered_step(step)
                if self._save(run_context.session, step):
                    run_context.request_stop()

    def end(self, session: Session) -> None:
        step = int(session.run(self._global_step))
        if step != self._timer.last_triggered_step():
            self._save(session, step)
        for listener in self._listeners:
            listener.end(session, step)

    def _save(self, session, step):
        """Save at `step`; True if a listener asks to stop."""
        logging.info("Saving checkpoints for %d into %s.", step, self._save_path)
        for listener in self._listeners:
            listener.before_save(session, step)
        _saver_of(self._saver, self._scaffold, "CheckpointSaverHook").save(session, self._save_path,
                                                                             global_step=step)
        stops = [bool(listener.after_save(session, step)) for listener in self._listeners]  # every one is told
        return any(stops)


class _WritesSummaries(SessionRunHook):
    """A hook that writes events to `summary_writer` or, made when first needed, the cached FileWriter
    of `output_dir` (none when neither is given)."""

    def __init__(self, output_dir, summary_writer):
        self._output_dir, self._writer = output_dir, summary_writer

    def _summary_writer(self):
        if self._writer is None and self._output_dir is not None:
            from ..summary import FileWriterCache
            self._writer = FileWriterCache.get(os.fspath(self._output_dir))
        return self._writer


class SummarySaverHook(_WritesSummaries):
    """Runs the summary op (`summary_op`, or the scaffold's) every `save_steps` steps or `save_secs`
    seconds and writes its result at the global step."""

    def __init__(self, save_steps: int | None = None, save_secs: float | None = None, output_dir: StrPath | None = None,
                 summary_writer: Any = None, scaffold: Any = None, summary_op: Any = None) -> None:
        if (scaffold is None) == (summary_op is None):
            raise ValueError("SummarySaverHook: exactly one of scaffold and summary_op should be given")
        if output_dir is None and summary_writer is None:
            raise ValueError("SummarySaverHook: give output_dir or summary_writer")
        super().__init__(output_dir, summary_writer)
        self._timer = SecondOrStepTimer(save_secs, save_steps)
        self._scaffold, self._summary_op = scaffold, summary_op

    def _summaries(self):
        op = self._scaffold.summary_op if self._scaffold is not None else self._summary_op
        if op is None:
            return []
        return list(op) if isinstance(op, (list, tuple)) else [op]

    def begin(self) -> None:
        self._global_step = _require_global_step("SummarySaverHook")
        self._next_step = None
        self._timer.reset()

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs | None:
        self._request = self._next_step is None or self._timer.should_trigger_for_step(self._next_step)
        fetches = {"global_step": self._global_step}
        if self._request and self._summaries():
            fetches["summary"] = self._summaries()
        return SessionRunArgs(fetches)

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        step = int(run_values.results["global_step"]) + 1
        if self._next_step is None or self._request:
            step = int(run_context.session.run(self._global_step))
        if self._request:
            self._timer.update_last_triggered_step(step)
            for summary in run_values.results.get("summary", []):
                self._summary_writer().add_summary(summary, step)
        self._next_step = step + 1

    def end(self, session: Session) -> None:
        if self._summary_writer() is not None:
            self._summary_writer().flush()


class StepCounterHook(_WritesSummaries):
    """Logs `global_step/sec` every `every_n_steps` steps (or `every_n_secs` seconds) and writes it as a
    summary when there is a writer."""

    def __init__(self, every_n_steps: int | None = 100, every_n_secs: float | None = None,
                 output_dir: StrPath | None = None, summary_writer: Any = None, steps_per_run: int = 1) -> None:
        if every_n_secs is not None and every_n_steps == 100:  # TF1: seconds given replace the default steps
            every_n_steps = None
        super().__init__(output_dir, summary_writer)
        self._timer = SecondOrStepTimer(every_n_secs, every_n_steps)
        self._steps_per_run = steps_per_run
        self._tag = "global_step/sec"

    def begin(self) -> None:
        self._global_step = _require_global_step("StepCounterHook")
        self._last_step = None
        self._timer.reset()

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs | None:
        return SessionRunArgs(self._global_step)

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        stale = int(run_values.results)
        if self._timer.should_trigger_for_step(stale + self._steps_per_run):
            step = int(run_context.session.run(self._global_step))
            if self._timer.should_trigger_for_step(step):
                secs, steps = self._timer.update_last_triggered_step(step)
                if secs is not None and secs > 0:
                    self._record(steps / secs, step)
        self._last_step = stale

    def _record(self, rate, step):
        logging.info("%s: %g", self._tag, rate)
        writer = self._summary_writer()
        if writer is not None:
            writer.add_scalars(step, {self._tag: rate})


class FinalOpsHook(SessionRunHook):
    """Runs `final_ops` when the session ends; their values are `final_ops_values` after."""

    def __init__(self, final_ops: Any, final_ops_feed_dict: Mapping[Any, Any] | None = None) -> None:
        self._final_ops, self._feed = final_ops, final_ops_feed_dict
        self._values = None

    @property
    def final_ops_values(self) -> Any:
        return self._values

    def end(self, session: Session) -> None:
        if self._final_ops is not None:
            self._values = session.run(self._final_ops, feed_dict=self._feed)


class FeedFnHook(SessionRunHook):
    """Feeds `feed_fn()` (a feed_dict) to every run."""

    def __init__(self, feed_fn: Callable[[], Mapping[Any, Any]]) -> None:
        self.feed_fn = feed_fn

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs | None:
        return SessionRunArgs(fetches=None, feed_dict=self.feed_fn())
