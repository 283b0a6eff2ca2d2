"""TF1's MonitoredSession family: a Session that initialises itself (or restores the latest checkpoint),
runs SessionRunHooks around every `run`, and ends a loop cleanly when a hook requests a stop or an input
pipeline runs out (`tf.errors.OutOfRangeError` inside `with` ends it, as in TF1).

    with tf.train.MonitoredTrainingSession(checkpoint_dir=d, hooks=[tf.train.StopAtStepHook(last_step=100)]) as s:
        while not s.should_stop():
            s.run(train_op)
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .. import logging
from .._types import StrPath
from ..errors import OutOfRangeError
from ..graph import GraphKeys, get_default_graph
from ..session import Session
from ..variables import (
    global_variables,
    global_variables_initializer,
    group,
    local_variables_initializer,
)
from . import basic_session_run_hooks as hooks_lib
from .optimizers_extra import (
    Coordinator,
    start_queue_runners,
    SessionRunArgs,
    SessionRunContext,
    SessionRunHook,
    SessionRunValues,
)
from .saver import Saver, latest_checkpoint

USE_DEFAULT = object()
_CLEAN_STOPS = (OutOfRangeError, StopIteration)


def read_only(attr: str) -> property:
    """A property reading `self.<attr>` (the many plain accessors of Scaffold and Supervisor)."""
    def get(self: Any) -> Any:
        return getattr(self, attr)
    return property(get)


def _from_collection(key, make):
    """The single item of collection `key`; else `make()`, kept there for the next Scaffold (as TF1)."""
    graph = get_default_graph()
    items = graph.get_collection(key)
    if len(items) > 1:
        raise RuntimeError(f"collection '{key}' holds {len(items)} items; a Scaffold can use only one")
    if items:
        return items[0]
    made = make()
    if made is not None:
        graph.add_to_collection(key, made)
    return made


class Scaffold:
    """What a MonitoredSession needs to build and initialise a session: the init ops, the Saver and the
    summary op. Those not given are made by `finalize` (TF1's defaults), which then finalizes the graph."""

    def __init__(self, init_op: Any = None, init_feed_dict: Mapping[Any, Any] | None = None,
                 init_fn: Callable[[Scaffold, Session], None] | None = None, ready_op: Any = None,
                 ready_for_local_init_op: Any = None, local_init_op: Any = None, summary_op: Any = None,
                 saver: Any = None, copy_from_scaffold: Scaffold | None = None) -> None:
        if copy_from_scaffold is not None:  # what is not given comes from it
            def given_or_copied(value, attr):
                return getattr(copy_from_scaffold, attr) if value is None else value
            init_op, init_fn = given_or_copied(init_op, "_init_op"), given_or_copied(init_fn, "_user_init_fn")
            init_feed_dict = given_or_copied(init_feed_dict, "_init_feed_dict")
            local_init_op = given_or_copied(local_init_op, "_local_init_op")
            summary_op, saver = given_or_copied(summary_op, "_summary_op"), given_or_copied(saver, "_saver")
        self._user_init_fn: Callable[[Scaffold, Session], None] | None = init_fn
        self._init_op, self._init_feed_dict = init_op, init_feed_dict
        self._ready_op, self._ready_for_local_init_op = ready_op, ready_for_local_init_op
        self._local_init_op, self._summary_op, self._saver = local_init_op, summary_op, saver

    def finalize(self) -> Scaffold:
        graph = get_default_graph()
        graph.finalized = False  # as TF1's _unsafe_unfinalize: a second session may need the defaults made
        if self._init_op is None:
            self._init_op = _from_collection(GraphKeys.INIT_OP, global_variables_initializer)
        if self._local_init_op is None:
            self._local_init_op = _from_collection(GraphKeys.LOCAL_INIT_OP, Scaffold.default_local_init_op)
        if self._summary_op is None:
            from ..summary import merge_all
            self._summary_op = _from_collection("summary_op", merge_all)
        if self._saver is None:
            self._saver = _from_collection(GraphKeys.SAVERS, _default_saver)
        graph.finalize()
        logging.info("Graph was finalized.")
        return self

    @staticmethod
    def default_local_init_op() -> Any:
        """Local variables' and lookup tables' initialisers."""
        return group(local_variables_initializer(), *get_default_graph().get_collection(GraphKeys.TABLE_INITIALIZERS))

    init_op = read_only("_init_op")
    init_feed_dict = read_only("_init_feed_dict")
    ready_op = read_only("_ready_op")
    ready_for_local_init_op = read_only("_ready_for_local_init_op")
    local_init_op = read_only("_local_init_op")
    summary_op = read_only("_summary_op")
    saver = read_only("_saver")

    @property
    def init_fn(self) -> Callable[[Session], None] | None:
        fn = self._user_init_fn
        return None if fn is None else (lambda sess: fn(self, sess))


def _default_saver():
    """A Saver of every global variable, in the SAVERS collection; None when there are none."""
    if not global_variables():
        return None
    return Saver()


class SessionCreator:
    def create_session(self) -> Session:
        raise NotImplementedError


class ChiefSessionCreator(SessionCreator):
    """A session restored from `checkpoint_filename_with_path` or the latest checkpoint in
    `checkpoint_dir` when there is one, else initialised by the scaffold's init_op and init_fn; then
    its local_init_op runs."""

    def __init__(self, scaffold: Scaffold | None = None, master: str = "", config: Any = None,
                 checkpoint_dir: StrPath | None = None, checkpoint_filename_with_path: StrPath | None = None) -> None:
        self._scaffold = scaffold or Scaffold()
        self._master, self._config = master, config
        self._checkpoint_dir, self._checkpoint_path = checkpoint_dir, checkpoint_filename_with_path

    def _checkpoint(self):
        if self._checkpoint_path is not None:
            return os.fspath(self._checkpoint_path)
        if self._checkpoint_dir is not None:
            return latest_checkpoint(self._checkpoint_dir)
        return None

    def create_session(self) -> Session:
        scaffold = self._scaffold.finalize()
        return prepare_session(self._master, self._config, self._checkpoint(), scaffold.saver, scaffold.init_op,
                               scaffold.init_feed_dict, scaffold.init_fn, scaffold.local_init_op)


def prepare_session(master: str, config: Any, checkpoint: str | None, saver: Any, init_op: Any,
                    init_feed_dict: Mapping[Any, Any] | None, init_fn: Callable[[Session], None] | None,
                    local_init_op: Any) -> Session:
    """A new Session restored from `checkpoint` (when there is one and a saver), else initialised by
    init_op and init_fn; then local_init_op runs. A failure closes it."""
    sess = Session(master, config=config)
    try:
        if checkpoint is not None and saver is not None:
            logging.info("Restoring parameters from %s", checkpoint)
            saver.restore(sess, checkpoint)
        else:
            if init_op is not None:
                sess.run(init_op, feed_dict=init_feed_dict)
            if init_fn is not None:
                init_fn(sess)
        if local_init_op is not None:
            logging.info("Running local_init_op.")
            sess.run(local_init_op)
    except BaseException:
        sess.close()
        raise
    return sess


# nnplug runs in one process: a worker has no chief to wait for, so it prepares its session as the chief does
WorkerSessionCreator = ChiefSessionCreator


class _StopSignal(Exception):
    """Raised by StepContext.request_stop to leave a step_fn."""


class StepContext:
    """What `run_step_fn`'s step_fn gets: the raw session, `run_with_hooks`, and `request_stop`."""

    def __init__(self, session: Session, run_with_hooks_fn: Callable[..., Any]) -> None:
        self._session, self._run_with_hooks = session, run_with_hooks_fn

    @property
    def session(self) -> Session:
        return self._session

    def run_with_hooks(self, *args: Any, **kwargs: Any) -> Any:
        return self._run_with_hooks(*args, **kwargs)

    def request_stop(self) -> None:
        raise _StopSignal


class _MonitoredSession:
    """Hooks' begin, the session's creation, their after_create_session; then each run asks every hook
    for its fetches and feeds, runs them with the caller's, and hands each hook its results."""

    def __init__(self, session_creator: SessionCreator | None, hooks: Sequence[SessionRunHook] | None,
                 stop_grace_period_secs: float = 120) -> None:
        self._hooks = list(hooks or [])
        for h in self._hooks:
            if not isinstance(h, SessionRunHook):
                raise TypeError(f"hooks must be tf.train.SessionRunHook instances, got {h!r}")
        self._grace = stop_grace_period_secs
        self._coord = Coordinator(clean_stop_exception_types=_CLEAN_STOPS)
        self._stop = False
        get_default_graph().finalized = False  # hooks may add ops; the scaffold finalizes the graph again
        for h in self._hooks:
            h.begin()
        self._sess = (session_creator or ChiefSessionCreator()).create_session()
        try:
            start_queue_runners(self._sess, self._coord)  # as TF1's session creator does; joined at close
            for h in self._hooks:
                h.after_create_session(self._sess, self._coord)
        except BaseException:
            self._sess.close()
            self._sess = None
            raise

    @property
    def graph(self):
        return self._sess.graph if self._sess is not None else get_default_graph()

    def _tf_sess(self) -> Session:
        return self._sess

    def should_stop(self) -> bool:
        return self._sess is None or self._stop or self._coord.should_stop()

    def run(self, fetches: Any, feed_dict: Mapping[Any, Any] | None = None, options: Any = None,
            run_metadata: Any = None) -> Any:
        if self.should_stop():
            raise RuntimeError("Run called even after should_stop requested.")
        context = SessionRunContext(original_args=SessionRunArgs(fetches, feed_dict, options), session=self._sess)
        asked = [h.before_run(context) for h in self._hooks]
        feeds = _merged_feeds(feed_dict, asked)
        wanted = [i for i, a in enumerate(asked) if a is not None and a.fetches is not None]
        try:
            caller, extra = self._sess.run([fetches, [asked[i].fetches for i in wanted]], feed_dict=feeds,
                                           options=options, run_metadata=run_metadata)
        except _CLEAN_STOPS:
            self._coord.request_stop()  # the input ran out: a clean end of the loop
            raise
        results = dict(zip(wanted, extra))
        for i, h in enumerate(self._hooks):
            h.after_run(context, SessionRunValues(results=results.get(i), options=options, run_metadata=run_metadata))
        self._stop = self._stop or context.stop_requested
        return caller

    def run_step_fn(self, step_fn: Callable[[StepContext], Any]) -> Any:
        """Call `step_fn(step_context)`; its `request_stop()` ends the loop (should_stop() is then True)."""
        try:
            return step_fn(StepContext(self._sess, self.run))
        except _StopSignal:
            self._stop = True
            return None

    def close(self) -> None:
        self._close(None)

    def _close(self, exception_type):
        if self._sess is None:
            return
        try:
            if exception_type is None:
                for h in self._hooks:
                    h.end(self._sess)
        finally:
            try:
                self._coord.request_stop()
                self._coord.join(stop_grace_period_secs=self._grace, ignore_live_threads=True)
            finally:
                self._sess.close()
                self._sess = None

    def __enter__(self):
        return self

    def __exit__(self, exception_type, value, tb):
        if exception_type is not None and issubclass(exception_type, _CLEAN_STOPS):
            exception_type = None
        self._close(exception_type)
        return exception_type is None


def _merged_feeds(feed_dict, asked):
    """The caller's feeds with the hooks'; a tensor fed twice is an error naming it."""
    feeds = dict(feed_dict or {})
    from_hooks = set()
    for args in asked:
        for key, value in ((args.feed_dict or {}).items() if args is not None else ()):
            if key in feeds:
                who = "two hooks" if key in from_hooks else "a SessionRunHook and the caller"
                raise RuntimeError(f"Same tensor is fed by {who}: {getattr(key, 'name', key)}")
            feeds[key] = value
            from_hooks.add(key)
    return feeds or None


class MonitoredSession(_MonitoredSession):
    def __init__(self, session_creator: SessionCreator | None = None, hooks: Sequence[SessionRunHook] | None = None,
                 stop_grace_period_secs: float = 120) -> None:
        super().__init__(session_creator, hooks, stop_grace_period_secs)


class SingularMonitoredSession(_MonitoredSession):
    """A MonitoredSession for one process, whose raw Session is `raw_session()`."""

    def __init__(self, hooks: Sequence[SessionRunHook] | None = None, scaffold: Scaffold | None = None,
                 master: str = "", config: Any = None, checkpoint_dir: StrPath | None = None,
                 stop_grace_period_secs: float = 120, checkpoint_filename_with_path: StrPath | None = None) -> None:
        creator = ChiefSessionCreator(scaffold, master, config, checkpoint_dir, checkpoint_filename_with_path)
        super().__init__(creator, hooks, stop_grace_period_secs)

    def raw_session(self) -> Session:
        return self._tf_sess()


def _default(value, default):
    return default if value is USE_DEFAULT else value


def MonitoredTrainingSession(master: str = "", is_chief: bool = True, checkpoint_dir: StrPath | None = None,
                             scaffold: Scaffold | None = None, hooks: Sequence[SessionRunHook] | None = None,
                             chief_only_hooks: Sequence[SessionRunHook] | None = None,
                             save_checkpoint_secs: Any = USE_DEFAULT, save_summaries_steps: Any = USE_DEFAULT,
                             save_summaries_secs: Any = USE_DEFAULT, config: Any = None,
                             stop_grace_period_secs: float = 120, log_step_count_steps: int | None = 100,
                             max_wait_secs: float = 7200, save_checkpoint_steps: Any = USE_DEFAULT,
                             summary_dir: StrPath | None = None) -> MonitoredSession:
    """A MonitoredSession with TF1's standard hooks on the chief: checkpoints into `checkpoint_dir`
    every 600 s (or save_checkpoint_secs / save_checkpoint_steps), summaries every 100 steps (or
    save_summaries_steps / save_summaries_secs) into `summary_dir` (default checkpoint_dir), and the
    step rate every log_step_count_steps steps. Restores the latest checkpoint in checkpoint_dir."""
    if save_summaries_steps is USE_DEFAULT and save_summaries_secs is USE_DEFAULT:
        save_summaries_steps, save_summaries_secs = 100, None
    save_summaries_steps, save_summaries_secs = _default(save_summaries_steps, None), _default(save_summaries_secs, None)
    if save_checkpoint_secs is USE_DEFAULT and save_checkpoint_steps is USE_DEFAULT:
        save_checkpoint_secs, save_checkpoint_steps = 600, None
    save_checkpoint_secs = _default(save_checkpoint_secs, None)
    save_checkpoint_steps = _default(save_checkpoint_steps, None)
    scaffold = scaffold or Scaffold()
    all_hooks = list(hooks or [])
    if is_chief:
        all_hooks = list(chief_only_hooks or []) + all_hooks
        summary_dir = summary_dir or checkpoint_dir
        if log_step_count_steps and log_step_count_steps > 0:
            all_hooks.append(hooks_lib.StepCounterHook(every_n_steps=log_step_count_steps, output_dir=summary_dir))
        if summary_dir is not None and (save_summaries_steps or save_summaries_secs):
            all_hooks.append(hooks_lib.SummarySaverHook(save_steps=save_summaries_steps or None,
                                                        save_secs=save_summaries_secs or None,
                                                        scaffold=scaffold, output_dir=summary_dir))
        if checkpoint_dir is not None and (save_checkpoint_secs or save_checkpoint_steps):
            all_hooks.append(hooks_lib.CheckpointSaverHook(checkpoint_dir, save_steps=save_checkpoint_steps or None,
                                                           save_secs=save_checkpoint_secs or None,
                                                           scaffold=scaffold))
    creator = ChiefSessionCreator(scaffold, master, config, checkpoint_dir)
    return MonitoredSession(session_creator=creator, hooks=all_hooks, stop_grace_period_secs=stop_grace_period_secs)
