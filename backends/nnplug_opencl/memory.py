"""Device memory for the OpenCL backend: a pyopencl memory pool per context (a repeated training step
reuses the blocks of the previous one), plus host<->device copies."""
import numpy as np


class Memory:
    def __init__(self, cl, cl_array, queue):
        import pyopencl.tools as cl_tools
        self.cl, self.cl_array, self.queue = cl, cl_array, queue
        self.pool = cl_tools.MemoryPool(cl_tools.ImmediateAllocator(queue))
        self.context = queue.context
        self._strides = {}
        self._copy_flags = cl.mem_flags.READ_WRITE | cl.mem_flags.COPY_HOST_PTR

    def empty(self, shape, dtype):
        dtype = np.dtype(dtype)
        size = 1
        for d in shape:
            size *= d
        if not size:
            return self.cl_array.Array(self.queue, shape, dtype, allocator=self.pool)
        # Array's checked constructor costs ~8 us a call, more than a small kernel; its `_fast` path with
        # the (always C-contiguous) strides precomputed takes ~1 us
        return self._wrap(self.pool.allocate(size * dtype.itemsize), shape, dtype, size)

    def _wrap(self, data, shape, dtype, size):
        """A C-contiguous Array over buffer `data`."""
        strides = self._strides.get((shape, dtype))
        if strides is None:
            strides = self._strides[shape, dtype] = self.cl_array.Array(self.queue, shape, dtype,
                                                                         allocator=self.pool).strides
        return self.cl_array.Array(None, shape, dtype, allocator=self.pool, strides=strides, data=data,
                                   offset=0, events=None, _fast=True, _context=self.context,
                                   _queue=self.queue, _size=size)

    def zeros(self, shape, dtype):
        y = self.empty(shape, dtype)
        if y.nbytes:
            self.cl.enqueue_fill_buffer(self.queue, y.base_data, np.uint8(0), 0, y.nbytes)
        return y

    def to_device(self, array):
        """A new device array holding a copy of `array` (keeps 0-d). The buffer is created with
        COPY_HOST_PTR: the copy happens at once on the host and does not wait for the queue, where a
        blocking enqueue_copy (pyopencl's to_device) would stall every step's feeds until the device
        had finished the previous step."""
        array = np.asarray(array, order="C")
        if not array.size:
            return self.cl_array.to_device(self.queue, array, allocator=self.pool)
        data = self.cl.Buffer(self.context, self._copy_flags, hostbuf=array)
        return self._wrap(data, array.shape, array.dtype, array.size)

    def to_host(self, value):
        return value.get(queue=self.queue)  # always a fresh host array
