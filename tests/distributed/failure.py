"""Run under mpiexec by tests/test_distributed_mpi.py: rank 1 fails in the way argv[1] names while rank 0
waits in a collective; the job must end with an error naming rank 1, not hang.

    raise: rank 1 raises (its excepthook prints the rank and aborts the job)
    exit:  rank 1 exits at once with status 3, skipping all cleanup (mpiexec ends the others)
    stall: rank 1 stops calling collectives; rank 0 times out (NNPLUG_COLLECTIVE_TIMEOUT) naming rank 1

argv[2] says what rank 0 is running: `allreduce` (default) an allreduce op, `training` a training step
of DistributedOptimizer, whose gradient buckets' allreduces are in flight while the backward pass runs.
"""
import os
import sys
import time

import numpy as np

import nnplug as tf
import nnplug.distributed as dist

MODE = sys.argv[1]
WHAT = sys.argv[2] if len(sys.argv) > 2 else "allreduce"
dist.init()
with tf.Graph().as_default():
    x = tf.Variable(np.ones(4, np.float32))
    if WHAT == "training":
        w = tf.Variable(np.ones((4, 3), np.float32), name="w")
        b = tf.Variable(np.zeros(3, np.float32), name="b")
        loss = tf.reduce_sum(tf.tanh(tf.matmul(x[None] * w[:, 0][None], w) + b))
        step = dist.DistributedOptimizer(tf.train.GradientDescentOptimizer(0.1), fusion_threshold=16).minimize(loss)
    else:
        step = dist.allreduce(x * 2.0, name="doubled")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        print(f"rank {dist.rank()} first step {sess.run(step)}", flush=True)
        if dist.rank() == 1:
            if MODE == "raise":
                raise RuntimeError("rank 1 fails on purpose")
            if MODE == "exit":
                os._exit(3)
            if MODE == "stall":
                time.sleep(120)
        sess.run(step)
print(f"rank {dist.rank()} was never stopped", flush=True)
