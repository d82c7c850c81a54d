"""What an iterative routine recorded: one :class:`History` for solvers, training, DIP and ADP.

Every iterative routine of the course returns ``(result, history)``. A history holds named
per-iteration metrics, each a list of floats, read as ``history.objective`` or
``history["objective"]``; facts about the whole run (``seconds``, ``stopped``, ...) are plain
attributes. Plotting a curve is then the same everywhere: ``plt.plot(history.loss)``.

Examples
--------
>>> history = History()
>>> for k in range(3):
...     history.log(loss=1.0 / (k + 1))
>>> history.loss
[1.0, 0.5, 0.3333333333333333]
>>> sorted(history)
['loss']
"""
from __future__ import annotations

import numbers

import numpy as np
import torch

__all__ = ["History"]


def _as_float(name: str, value) -> float:
    """``value`` as a float: a real number, or a one-element real tensor or array (NaN and inf are fine: a diverging
    run is worth recording); a TypeError naming the metric for anything else."""
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
        return float(value)
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_complex() and value.dtype != torch.bool:
        return float(value.item())
    if isinstance(value, np.ndarray) and value.size == 1 and np.issubdtype(value.dtype, np.number) \
            and not np.issubdtype(value.dtype, np.complexfloating):
        return float(value.item())
    described = (f"a {type(value).__name__} of shape {tuple(value.shape)} and dtype {value.dtype}"
                 if hasattr(value, "shape") and hasattr(value, "dtype") else f"a {type(value).__name__} ({value!r})")
    raise TypeError(f"the metric {name!r} is {described}; History.log expects a real number (a float, or a "
                    "one-element real tensor)")


class History(dict):
    """Named per-iteration metrics (a dict of lists) with attribute access, plus facts as attributes."""

    def __init__(self, **facts):
        super().__init__()
        self.__dict__.update(facts)

    def log(self, **values) -> None:
        """Append one value to each named metric (a new name starts a new list): a real number or a one-element
        real tensor (NaN and inf are recorded as they are), else a TypeError that names the metric."""
        for name in values:
            if hasattr(dict, name) or name.startswith("_"):
                raise ValueError(f"{name!r} is a name of the History itself; log the metric under another name")
        checked = {name: _as_float(name, value) for name, value in values.items()}   # all checked before any is kept
        for name, value in checked.items():
            self.setdefault(name, []).append(value)

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            recorded = ", ".join(sorted(self)) or "nothing"
            raise AttributeError(f"this history has no {name!r}; it recorded {recorded}"
                                 + (" (the error needs x_true)" if name == "error" else "")) from None

    def __repr__(self) -> str:
        metrics = ", ".join(f"{name}: {len(values)}" for name, values in self.items())
        facts = ", ".join(f"{name}={value!r}" for name, value in self.__dict__.items() if not hasattr(value, "shape"))
        return f"History({metrics}{'; ' if facts and metrics else ''}{facts})"
