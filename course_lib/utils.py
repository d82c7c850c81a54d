"""Small helpers shared by the whole library: input checks, seeds, device choice.

Every public function of ``course_lib`` validates its tensors with :func:`check_tensor`, so a
wrong shape or dtype fails at once with a message that says what was expected.
"""
from __future__ import annotations

import math
import os
import random

import numpy as np
import torch

__all__ = ["BATCH_FIRST", "ONE_PROBLEM", "check_tensor", "check_int", "check_positive_int", "check_number",
           "as_generator", "seed_from", "select_device", "setup_notebook", "batch_size", "latency"]


#: The public functions that are **batch-first**: the leading dimensions of their tensor arguments are independent
#: items, the trailing ones (named here, as in each docstring) are one signal or image, and a batch gives what its
#: items give one by one (``tests/test_batches.py`` checks every entry, to the tolerance it states for iterative
#: routines). Name: the trailing shape of one item.
BATCH_FIRST = {
    "operators.LinearOperator": "(..., *in_shape) for A(x), (..., *out_shape) for A.A_adjoint(y): every operator",
    "prox.soft_threshold": "entrywise", "prox.soft_threshold_nonnegative": "entrywise",
    "prox.project_nonnegative": "entrywise", "prox.project_box": "entrywise", "prox.prox_squared_l2": "entrywise",
    "prox.singular_value_threshold": "(..., m, n)",
    "functionals.L1.prox": "entrywise", "functionals.NonnegativeL1.prox": "entrywise",
    "functionals.SquaredL2.prox": "entrywise", "functionals.Box.prox": "entrywise",
    "functionals.TotalVariation.prox": "(..., n) or (..., H, W) (ndim)",
    "solvers.gradient_descent": "(..., *A.out_shape)", "solvers.landweber": "(..., *A.out_shape)",
    "solvers.tikhonov": "(..., *A.out_shape)", "solvers.ista_step": "(..., *A.out_shape)",
    "solvers.ista": "(..., *A.out_shape)", "solvers.fista": "(..., *A.out_shape)",
    "solvers.casorati": "(..., T, H, W)", "solvers.robust_pca": "(..., pixels, frames)",
    "lifting.lift": "(..., n)", "lifting.unlift": "(..., n)", "lifting.keep_largest": "(..., n) or (..., H, W) (ndim)",
    "lifting.wavelet_denoise": "(..., *W.in_shape)", "lifting.LiftingNetwork.denoise": "(N, 1, H, W)",
    "pnp.data_step": "(..., *A.in_shape)", "pnp.hqs": "(..., *A.out_shape)", "pnp.admm": "(..., *A.out_shape)",
    "pnp.wavelet_denoiser": "(..., *W.in_shape): the denoiser it returns",
    "pnp.tv_denoiser": "(..., H, W): the denoiser it returns",
    "architectures.circular_convolution": "(..., n)", "geometry.hankel": "(..., n)",
    "geometry.hankel_adjoint": "(..., n, d)", "unfolding.LISTA": "(..., m)", "unfolding.LISTA_CP": "(..., m)",
    "unfolding.ALISTA": "(..., m)", "unfolding.NonnegativeUnfoldedISTA": "(..., *A.out_shape)",
}

#: Public functions that treat a batch as **one problem** on purpose (exempt from :data:`BATCH_FIRST`), and why.
ONE_PROBLEM = {
    "pnp.conjugate_gradient": "a batch is one big system M x = b: one step size and one stopping test for all",
    "functionals.Functional.__call__": "a regulariser's value sums every entry (a batch sums); solvers divide by the "
                                       "batch size",
}


def _shape_text(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def check_tensor(x, name: str, owner: str, trailing_shape=None, allow_complex: bool = True, finite: bool = False):
    """Check that ``x`` is a floating-point tensor whose last dimensions are ``trailing_shape``.

    Parameters
    ----------
    x : object
        The value to check.
    name : str
        Its name in the error message (``"x"``, ``"y"``, ...).
    owner : str
        Who expects it, e.g. ``"IntegrationOperator(n=200)"``.
    trailing_shape : tuple of int, optional
        Required trailing shape; any leading (batch) dimensions are allowed.
    allow_complex : bool
        Whether complex dtypes are accepted.
    finite : bool
        Whether every entry must be finite (no NaN, no ±inf): asked at the entry points that take data
        (a measurement, a start), once, not inside iterations.

    Raises
    ------
    TypeError
        If ``x`` is not a tensor, or its dtype is not floating point (or complex, when allowed).
    ValueError
        If its trailing dimensions differ from ``trailing_shape``, or (with ``finite``) it holds NaN or ±inf.

    Examples
    --------
    >>> check_tensor(torch.zeros(3, 5), "x", "IntegrationOperator(n=200)", (200,))
    Traceback (most recent call last):
    ...
    ValueError: x has shape (3, 5); IntegrationOperator(n=200) expects (..., 200)
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} is a {type(x).__name__}; {owner} expects a torch.Tensor "
                        f"(convert with torch.as_tensor({name}, dtype=torch.float32))")
    if not (x.is_floating_point() or (allow_complex and x.is_complex())):
        kinds = "floating-point or complex" if allow_complex else "real floating-point"
        raise TypeError(f"{name} has dtype {x.dtype}; {owner} expects a {kinds} tensor "
                        f"(e.g. {name}.to(torch.float32))")
    if trailing_shape is not None:
        trailing_shape = tuple(trailing_shape)
        k = len(trailing_shape)
        if x.ndim < k or tuple(x.shape[x.ndim - k:]) != trailing_shape:
            expected = "(..., " + ", ".join(str(s) for s in trailing_shape) + ")"
            raise ValueError(f"{name} has shape {_shape_text(tuple(x.shape))}; {owner} expects {expected}")
    if finite and not bool(torch.isfinite(x).all()):
        bad = int((~torch.isfinite(x)).sum())
        raise ValueError(f"{name} has {bad} non-finite entr{'y' if bad == 1 else 'ies'} (NaN or inf) of {x.numel()}; "
                         f"{owner} expects finite numbers")
    return x


def check_int(value, name: str, owner: str, minimum: int = 1) -> int:
    """``value`` as an int, or a TypeError (not an integer; bool is not) or a ValueError (below ``minimum``)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} is a {type(value).__name__} ({value!r}); {owner} expects an integer")
    if value < minimum:
        kind = {0: "a non-negative integer", 1: "a positive integer"}.get(minimum, f"an integer >= {minimum}")
        raise ValueError(f"{name} is {value!r}; {owner} expects {kind}")
    return int(value)


def check_positive_int(value, name: str, owner: str) -> int:
    """``value`` as an int >= 1; TypeError for a non-integer, ValueError for one below 1."""
    return check_int(value, name, owner, 1)


def check_number(value, name: str, owner: str, minimum: float = 0.0, strict: bool = False) -> float:
    """``value`` as a finite float >= ``minimum`` (> with ``strict``); TypeError for a non-number, ValueError
    otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} is a {type(value).__name__} ({value!r}); {owner} expects a number")
    if not math.isfinite(value) or value < minimum or (strict and value == minimum):
        relation = ">" if strict else ">="
        raise ValueError(f"{name} is {value!r}; {owner} expects a finite number {relation} {minimum:g}")
    return float(value)


def batch_size(x: torch.Tensor, signal_shape) -> int:
    """Number of signals in a batch ``(..., *signal_shape)`` (1 for an unbatched signal)."""
    return max(1, x.numel() // max(1, math.prod(signal_shape)))


def as_generator(seed, device=None) -> torch.Generator:
    """A ``torch.Generator`` from an int seed (or the generator itself, passed through).

    Every random function of the course takes ``seed`` as an int or a ``torch.Generator`` and
    turns it into a generator here: an int gives the same draws every time, a generator carries
    on where it was.
    """
    if isinstance(seed, torch.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed is a {type(seed).__name__}; expected an int or a torch.Generator")
    return torch.Generator(device=device or "cpu").manual_seed(int(seed))


def seed_from(seed) -> int:
    """An int seed for code that can only be seeded through the global RNG (a layer's initialisation): an int as it is,
    a ``torch.Generator`` gives its next draw (so it carries on as every other draw from it does). Use it inside
    ``torch.random.fork_rng()``, so that the caller's global RNG is left as it was."""
    if isinstance(seed, torch.Generator):
        return int(torch.randint(0, 2 ** 62, (1,), generator=seed))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed is a {type(seed).__name__}; expected an int or a torch.Generator")
    return int(seed)


def latency(fn, repeats: int = 3, warmup: int = 1) -> float:
    """Wall-clock seconds of one call of ``fn()``: the median of ``repeats`` timed calls.

    ``warmup`` untimed calls come first; everything runs under ``torch.no_grad()``, and a GPU is
    synchronised around each timed call so that its queued work is counted.
    """
    import statistics
    import time

    check_int(repeats, "repeats", "latency")
    check_int(warmup, "warmup", "latency", minimum=0)
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    times = []
    with torch.no_grad():
        for _ in range(warmup):
            fn()
        for _ in range(repeats):
            sync()
            start = time.perf_counter()
            fn()
            sync()
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def select_device(prefer_gpu: bool = True) -> torch.device:
    """The first GPU when one is present (CUDA or Apple MPS) and wanted, otherwise the CPU."""
    if prefer_gpu and torch.cuda.is_available():
        return torch.device("cuda")
    if prefer_gpu and getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def setup_notebook(seed=0, threads: int = 1, style: bool = True) -> torch.device:
    """Start a notebook the same way every time: seeds, torch threads, plot style, device.

    One torch thread is the default: on a busy 2-core laptop two spinning OpenMP threads
    were measured 5-10x slower than one. The environment variable ``COURSE_MAX_THREADS`` caps
    ``threads`` (the autograder sets it, so that notebooks graded side by side do not oversubscribe
    the cores: two notebooks of 2 threads each on 2 cores were measured 6x slower). Denormal floats
    are flushed to zero: float32 ISTA/FISTA iterates that decay towards 0 were measured up to 8x
    slower without it. ``seed`` (an int, or a ``torch.Generator`` that gives one) seeds Python's, NumPy's and
    torch's global generators. Returns the device.
    """
    seed = seed_from(seed)
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)                  # NumPy's legacy seeding takes 32 bits
    torch.manual_seed(seed)
    cap = os.environ.get("COURSE_MAX_THREADS", "")
    threads = min(threads, max(1, int(cap))) if cap.isdigit() else threads
    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)
    if style:
        from .plotting import use_course_style
        use_course_style()
    device = select_device()
    print(f"course_lib ready: seed {seed}, {threads} torch thread(s), device {device}")
    return device
