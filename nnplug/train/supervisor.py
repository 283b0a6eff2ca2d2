"""TF1's tf.train.Supervisor (the pre-MonitoredSession training loop helper), in its single-process form:
`managed_session` gives a session initialised or restored from `logdir`, with background threads that
save a checkpoint every `save_model_secs` and the summaries every `save_summaries_secs`; an
OutOfRangeError inside the block ends it cleanly, any other error is re-raised after the threads stop.

    sv = tf.train.Supervisor(logdir=d)
    with sv.managed_session() as sess:
        while not sv.should_stop():
            sess.run(train_op)
"""
from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from .. import logging
from .._types import StrPath
from ..errors import OutOfRangeError
from ..graph import Graph, GraphKeys, get_default_graph
from ..session import Session
from ..variables import global_variables, global_variables_initializer
from .monitored_session import Scaffold, prepare_session, read_only
from .optimizers import get_global_step
from .optimizers_extra import Coordinator, start_queue_runners
from .saver import Saver, latest_checkpoint


class Supervisor:
    USE_DEFAULT = 0  # TF1's marker: an argument left at it gets the default op; None means none

    def __init__(self, graph: Graph | None = None, ready_op: Any = USE_DEFAULT, ready_for_local_init_op: Any = USE_DEFAULT,
                 is_chief: bool = True, init_op: Any = USE_DEFAULT, init_feed_dict: Mapping[Any, Any] | None = None,
                 local_init_op: Any = USE_DEFAULT, logdir: StrPath | None = None, summary_op: Any = USE_DEFAULT,
                 saver: Any = USE_DEFAULT, global_step: Any = USE_DEFAULT, save_summaries_secs: float = 120,
                 save_model_secs: float = 600, recovery_wait_secs: float = 30, stop_grace_secs: float = 120,
                 checkpoint_basename: str = "model.ckpt", session_manager: Any = None,
                 summary_writer: Any = USE_DEFAULT, init_fn: Callable[[Session], None] | None = None,
                 local_init_run_options: Any = None) -> None:
        self._graph = graph or get_default_graph()
        with self._graph.as_default():
            d = self.USE_DEFAULT
            self._init_op = global_variables_initializer() if init_op is d else init_op
            self._local_init_op = Scaffold.default_local_init_op() if local_init_op is d else local_init_op
            if summary_op is d:
                from ..summary import merge_all
                summary_op = merge_all()
            self._summary_op = summary_op
            if saver is d:
                savers = self._graph.get_collection(GraphKeys.SAVERS)
                saver = savers[0] if savers else (Saver() if global_variables() else None)
            self._saver = saver
            self._global_step = get_global_step() if global_step is d else global_step
        self._graph.finalize()
        self._is_chief, self._init_feed_dict, self._init_fn = is_chief, init_feed_dict, init_fn
        self._logdir = None if logdir is None else os.fspath(logdir)
        self._save_path = None if logdir is None else os.path.join(self._logdir, checkpoint_basename)
        self._save_summaries_secs, self._save_model_secs = save_summaries_secs, save_model_secs
        self._stop_grace_secs = stop_grace_secs
        if summary_writer is d:
            summary_writer = None
            if self._logdir is not None and is_chief:
                from ..summary import FileWriterCache
                summary_writer = FileWriterCache.get(self._logdir)
        self._summary_writer = summary_writer
        self._coord = Coordinator(clean_stop_exception_types=(OutOfRangeError,))
        self._threads = []

    # -- what it holds -----------------------------------------------------------------------
    is_chief = read_only("_is_chief")
    coord = read_only("_coord")
    init_op = read_only("_init_op")
    init_feed_dict = read_only("_init_feed_dict")
    summary_op = read_only("_summary_op")
    summary_writer = read_only("_summary_writer")
    saver = read_only("_saver")
    global_step = read_only("_global_step")
    save_path = read_only("_save_path")
    save_model_secs = read_only("_save_model_secs")
    save_summaries_secs = read_only("_save_summaries_secs")

    # -- sessions ----------------------------------------------------------------------------
    def prepare_or_wait_for_session(self, master: str = "", config: Any = None, wait_for_checkpoint: bool = False,
                                    max_wait_secs: float = 7200, start_standard_services: bool = True) -> Session:
        """A session restored from the latest checkpoint in logdir, else initialised; the standard
        services start with it (on the chief, when there is a logdir)."""
        checkpoint = latest_checkpoint(self._logdir) if self._logdir is not None else None
        sess = prepare_session(master, config, checkpoint, self._saver, self._init_op, self._init_feed_dict,
                               self._init_fn, self._local_init_op)
        if start_standard_services and self._is_chief and self._logdir is not None:
            self.start_standard_services(sess)
        if start_standard_services:  # TF1 starts the graph's queue runners with the services
            self._threads.extend(start_queue_runners(sess, self._coord))
        return sess

    def start_standard_services(self, sess: Session) -> list[threading.Thread]:
        """The checkpoint and summary threads (each runs at once, then every interval)."""
        started = []
        if self._saver is not None and self._save_model_secs:
            started.append(self.loop(self._save_model_secs, self._save_checkpoint, args=(sess,)))
        if self._summary_op is not None and self._summary_writer is not None and self._save_summaries_secs:
            started.append(self.loop(self._save_summaries_secs, self.summary_computed_of, args=(sess,)))
        return started

    def _save_checkpoint(self, sess):
        step = None if self._global_step is None else int(sess.run(self._global_step))
        logging.info("Saving checkpoint to path %s", self._save_path)
        self._saver.save(sess, self._save_path, global_step=step)

    def summary_computed_of(self, sess: Session) -> None:
        step = 0 if self._global_step is None else int(sess.run(self._global_step))
        self._summary_writer.add_summary(sess.run(self._summary_op), step)

    def summary_computed(self, sess: Session, summary: Any, global_step: int | None = None) -> None:
        """Write a summary the caller computed (TF1's summary_computed)."""
        if self._summary_writer is None:
            raise RuntimeError("Supervisor.summary_computed needs a summary writer: pass logdir or summary_writer")
        if global_step is None and self._global_step is not None:
            global_step = int(sess.run(self._global_step))
        self._summary_writer.add_summary(summary, global_step)

    def loop(self, timer_interval_secs: float, target: Callable[..., Any], args: Sequence[Any] | None = None,
             kwargs: Mapping[str, Any] | None = None) -> threading.Thread:
        """Call target(*args, **kwargs) now and every timer_interval_secs until a stop is requested."""
        def run():
            with self._coord.stop_on_exception():
                while True:
                    target(*(args or ()), **(kwargs or {}))
                    if self._coord.wait_for_stop(timer_interval_secs):
                        return
        thread = threading.Thread(target=run, daemon=True, name=f"Supervisor.loop({getattr(target, '__name__', '')})")
        self._coord.register_thread(thread)
        self._threads.append(thread)
        thread.start()
        return thread

    def should_stop(self) -> bool:
        return self._coord.should_stop()

    def request_stop(self, ex: BaseException | None = None) -> None:
        self._coord.request_stop(ex)

    def stop_on_exception(self) -> contextlib.AbstractContextManager[Coordinator]:
        return self._coord.stop_on_exception()

    def wait_for_stop(self) -> None:
        self._coord.wait_for_stop()

    def stop(self, threads: Sequence[threading.Thread] | None = None, close_summary_writer: bool = True,
             ignore_live_threads: bool = False) -> None:
        """Request a stop, wait for the threads, close the summary writer; re-raises an error a thread
        (or the managed block) reported."""
        self._coord.request_stop()
        try:
            self._coord.join(threads, stop_grace_period_secs=self._stop_grace_secs,
                             ignore_live_threads=ignore_live_threads)
        finally:
            if close_summary_writer and self._summary_writer is not None:
                self._summary_writer.close()

    @contextlib.contextmanager
    def managed_session(self, master: str = "", config: Any = None, start_standard_services: bool = True,
                        close_summary_writer: bool = True) -> Iterator[Session]:
        sess = None
        try:
            sess = self.prepare_or_wait_for_session(master, config, start_standard_services=start_standard_services)
            yield sess
        except Exception as e:  # noqa: BLE001 - reported to the coordinator; stop() re-raises all but OutOfRange
            self.request_stop(e)
        finally:
            try:
                self.stop(close_summary_writer=close_summary_writer)
            finally:
                if sess is not None:
                    sess.close()
