"""Run under mpiexec by tests/test_distributed_mpi.py: rank 1 fails in the way argv[1] names while rank 0
waits in a collective; the job must end with an error naming rank 1, not hang.

    raise: rank 1 raises (its excepthook prints the rank and aborts the job)
    exit:  rank 1 exits at once with status 3, skipping all cleanup (mpiexec ends the others)
    stall: rank 1 stops calling collectives; rank 0 times out (NNPLUG_COLLECTIVE_TIMEOUT) naming rank 1
"""
import os
import sys
import time

import numpy as np

import nnplug as tf
import nnplug.distributed as dist

MODE = sys.argv[1]
dist.init()
with tf.Graph().as_default():
    x = tf.Variable(np.ones(4, np.float32))
    mean = dist.allreduce(x * 2.0, name="doubled")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        print(f"rank {dist.rank()} first step {sess.run(mean)}", flush=True)
        if dist.rank() == 1:
            if MODE == "raise":
                raise RuntimeError("rank 1 fails on purpose")
            if MODE == "exit":
                os._exit(3)
            if MODE == "stall":
                time.sleep(120)
        sess.run(mean)
print(f"rank {dist.rank()} was never stopped", flush=True)
