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

__all__ = ["History"]


class History(dict):
    """Named per-iteration metrics (a dict of lists) with attribute access, plus facts as attributes."""

    def __init__(self, **facts):
        super().__init__()
        self.__dict__.update(facts)

    def log(self, **values) -> None:
        """Append one value to each named metric (a new name starts a new list)."""
        for name, value in values.items():
            if hasattr(dict, name) or name.startswith("_"):
                raise ValueError(f"{name!r} is a name of the History itself; log the metric under another name")
            self.setdefault(name, []).append(float(value))

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
