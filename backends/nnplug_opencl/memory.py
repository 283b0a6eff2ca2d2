"""Device memory for the OpenCL backend: a pyopencl memory pool per context (a repeated training step
reuses the blocks of the previous one), plus host<->device copies. When no plan is left (every session
closed), the pool stops holding blocks and gives them all back; the next plan starts a new one."""
import numpy as np


class Memory:
    def __init__(self, cl, cl_array, queue):
        self.cl, self.cl_array, self.queue = cl, cl_array, queue
        self.pool, self.holding = self._new_pool(), True
        self.context = queue.context
        self._layouts = {}
        self._copy_flags = cl.mem_flags.READ_WRITE | cl.mem_flags.COPY_HOST_PTR

    def _new_pool(self):
        import pyopencl.tools as cl_tools
        return cl_tools.MemoryPool(cl_tools.ImmediateAllocator(self.queue))

    def release(self):
        """Give every held block back, and every block freed from now on, until `hold` (no plan is left)."""
        self.pool.stop_holding()
        self.holding = False

    def hold(self):
        """Keep freed blocks for reuse again (a plan was made): a new pool, if the last one was released."""
        if not self.holding:
            self.pool, self.holding = self._new_pool(), True

    def empty(self, shape, dtype):
        dt, size, nbytes, _ = self._layout(shape, dtype)
        if not size:
            return self.cl_array.Array(self.queue, shape, dt, allocator=self.pool)
        return self._wrap(self.pool.allocate(nbytes), shape, dtype)

    def _wrap(self, data, shape, dtype):
        """A C-contiguous Array over buffer `data`. Array's checked constructor costs ~8 us a call, more
        than a small kernel; its `_fast` path with the layout looked up once per shape and dtype ~1 us."""
        dt, size, _, strides = self._layout(shape, dtype)
        return self.cl_array.Array(None, shape, dt, allocator=self.pool, strides=strides, data=data, offset=0,
                                   events=None, _fast=True, _context=self.context, _queue=self.queue, _size=size)

    def _layout(self, shape, dtype):
        """(NumPy dtype, size, bytes, C-contiguous strides) of a (shape, dtype), cached."""
        layout = self._layouts.get((shape, dtype))
        if layout is None:
            dt = np.dtype(dtype)
            size = 1
            for d in shape:
                size *= d
            strides = self.cl_array.Array(self.queue, shape, dt, allocator=self.pool).strides if size else None
            layout = self._layouts[shape, dtype] = (dt, size, size * dt.itemsize, strides)
        return layout

    def fill_zero(self, buf, nbytes):
        self.cl.enqueue_fill_buffer(self.queue, buf, np.uint8(0), 0, nbytes)

    def copy(self, dst, src, nbytes, src_offset=0):
        self.cl.enqueue_copy(self.queue, dst, src, byte_count=nbytes, src_offset=src_offset, dst_offset=0)

    def host_buffer(self, array):
        """A new device buffer initialised from `array` at once, on the host (see to_device)."""
        return self.cl.Buffer(self.context, self._copy_flags, hostbuf=np.asarray(array, order="C"))

    def to_device(self, array):
        """A new device array holding a copy of `array` (keeps 0-d). The buffer is created with
        COPY_HOST_PTR: the copy happens at once on the host and does not wait for the queue, where a
        blocking enqueue_copy (pyopencl's to_device) would stall every step's feeds until the device
        had finished the previous step."""
        array = np.asarray(array, order="C")
        if not array.size:
            return self.cl_array.to_device(self.queue, array, allocator=self.pool)
        return self._wrap(self.host_buffer(array), array.shape, array.dtype)

    def to_host(self, value):
        return value.get(queue=self.queue)  # always a fresh host array
