"""Replay a pure tensor function as one CUDA graph.

The twin's step is hundreds of small kernels; launched one by one from Python, a GPU spends
most of a step waiting for the host. Captured once into a ``torch.cuda.CUDAGraph`` (eager or
Inductor-compiled, it does not matter), a step is one replay: no Python per kernel and no host
synchronisation. Capturing takes a few eager calls, not a compile.

A graph reads and writes fixed buffers. :class:`GraphedFunction` owns a static copy of every
input tensor; a call copies in the inputs that are not those buffers already (one fused
multi-tensor copy), replays, and returns the graph's own output tensors, which the next replay
overwrites: callers copy out what they keep. Feeding outputs back as the next call's inputs
(the simulator's state) is done with :meth:`GraphedFunction.carry`, which copies them into the
input buffers and returns those, so the next call copies nothing.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor
from torch.utils._pytree import tree_flatten, tree_unflatten


class GraphedFunction:
    """``fn`` captured into a CUDA graph on its first call. Later calls must pass arguments of
    the same structure, shapes, dtypes and device."""

    def __init__(self, fn: Callable[..., Any], warmup: int = 2, pool: Any = None):
        """``pool``: a ``torch.cuda.graph_pool_handle()`` shared with graphs that never run at
        the same time, so that they reuse each other's scratch memory."""
        self._fn = fn
        self._pool = pool
        self._warmup = warmup
        self._graph: torch.cuda.CUDAGraph | None = None
        self._inputs: list[Any] = []       # flattened static inputs (tensors) and constants
        self._spec = None
        self._outputs: Any = None

    @property
    def static_args(self) -> tuple:
        """The captured call's arguments, rebuilt from the static input buffers."""
        return tree_unflatten(self._inputs, self._spec)

    def _capture(self, flat: list[Any]) -> None:
        self._inputs = [x.clone() if isinstance(x, Tensor) else x for x in flat]
        args = tree_unflatten(self._inputs, self._spec)
        # Warm up on a side stream (the CUDA-graph recipe in torch.cuda's documentation), so that
        # one-time work such as compiling or allocator growth happens outside the capture.
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(self._warmup):
                self._fn(*args)
        torch.cuda.current_stream().wait_stream(side)
        self._graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self._graph, pool=self._pool):
            self._outputs = self._fn(*args)

    def __call__(self, *args: Any) -> Any:
        flat, spec = tree_flatten(args)
        if self._graph is None:
            self._spec = spec
            self._capture(flat)
        elif spec != self._spec:
            raise ValueError("GraphedFunction: called with arguments of another structure than "
                             "the captured call")
        dst, src = [], []
        for static, x in zip(self._inputs, flat):
            if isinstance(x, Tensor):
                if x.shape != static.shape or x.dtype != static.dtype:
                    raise ValueError(f"GraphedFunction: an argument of shape {tuple(x.shape)} "
                                     f"{x.dtype}; the graph was captured with "
                                     f"{tuple(static.shape)} {static.dtype}")
                if x is not static:
                    dst.append(static)
                    src.append(x)
        if dst:
            torch._foreach_copy_(dst, src)
        self._graph.replay()
        return self._outputs

    def carry(self, outputs: Any, arg_index: int) -> Any:
        """Copy ``outputs`` (a subtree of the last call's outputs, structured like argument
        ``arg_index``) into that argument's static buffers and return those buffers: passed
        back as that argument, they need no copy. Outputs that are the buffers are skipped."""
        buffers = self.static_args[arg_index]
        out_flat, out_spec = tree_flatten(outputs)
        buf_flat, buf_spec = tree_flatten(buffers)
        if out_spec != buf_spec:
            raise ValueError(f"carry: the outputs are not structured like argument {arg_index}")
        pairs = [(b, o) for b, o in zip(buf_flat, out_flat)
                 if isinstance(o, Tensor) and o is not b]
        if pairs:
            torch._foreach_copy_([b for b, _ in pairs], [o for _, o in pairs])
        return buffers
