"""The run state a plan is compiled against: what the compiler needs from its owner (a Session), and
nothing more. The Session implements it; tests and tools may pass any object with these members."""


class RunState:
    """Protocol (documentation and a base): `backend`, plus

    - variable_slot(variable) -> int: the variable's index in the slot list `V` a plan reads and stores;
    - constant(op) -> backend array: a Const op's value on the device (shared by the plans of one owner);
    - rng_for(op) -> random stream: the stream a random op draws from (seeded as TF1 seeds);
    - placement(op) -> backend: the backend instance the op runs on (nnplug/devices.py; `backend` when it
      names no other device; an owner without this method runs every op on `backend`);
    - step_allocator(backend=None) -> allocate(shape, numpy dtype): where the planned temporaries of a plan
      that updates variables live, on `backend` (default: the owner's; plans that only read use
      `backend.empty`);
    - resource(key, make) -> object: per-owner state of stateful host ops (a dataset iterator's position,
      a summary writer), made by `make()` on first use and kept until the owner closes. Host kernels reach
      it as `spec.state.resource(...)`.
    """

    backend = None

    def variable_slot(self, variable):
        raise NotImplementedError

    def constant(self, op):
        raise NotImplementedError

    def rng_for(self, op):
        raise NotImplementedError

    def placement(self, op):
        return self.backend

    def step_allocator(self, backend=None):
        return (backend or self.backend).empty

    def resource(self, key, make):
        raise NotImplementedError
