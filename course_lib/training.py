"""One small training loop for every learned model of the course: seeded, with a progress bar,
the loss history, and early stopping on a validation set.

Plain PyTorch: the loop is the textbook one (sample a batch, loss, backward, Adam step), so a
student can read it in one go. Training data are generated on the fly by ``sample_batch``.
Like every iterative routine of the course it returns ``(result, history)``: here the trained
model and a :class:`~course_lib.history.History` with ``loss`` per iteration, ``val_loss`` at the
iterations ``val_iteration``, and the facts ``best_iteration``, ``stopped_early`` and ``seconds``.
"""
from __future__ import annotations

import copy
import math
import time

import torch
from torch import nn

from .history import History
from .utils import as_generator, check_number, check_positive_int

__all__ = ["train", "adam_with_cosine", "cosine_schedule", "make_optimizer"]


def make_optimizer(optimizer, params, lr: float, owner: str) -> torch.optim.Optimizer:
    """The optimizer a routine was asked for, built over ``params``: a ``torch.optim`` class is called as
    ``optimizer(params, lr=lr)``; any other callable is a factory, called as ``optimizer(params)`` (it sets its own
    step size, e.g. ``lambda p: torch.optim.Adam(p, lr=1e-3, eps=1e-12)``)."""
    params = list(params)
    if isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer):
        return optimizer(params, lr=check_number(lr, "lr", owner, strict=True))
    if callable(optimizer) and not isinstance(optimizer, (str, torch.optim.Optimizer)):
        built = optimizer(params)
        if not isinstance(built, torch.optim.Optimizer):
            raise TypeError(f"the optimizer factory returned a {type(built).__name__}; {owner} expects it to return a "
                            "torch.optim.Optimizer over the parameters it was given")
        return built
    raise TypeError(f"optimizer is {optimizer!r}; {owner} expects a torch.optim class (torch.optim.Adam, "
                    "torch.optim.SGD, ...) or a factory params -> torch.optim.Optimizer")


def cosine_schedule(optimizer: torch.optim.Optimizer, n_iter: int, cosine: bool = True, lr_floor: float = 0.01):
    """The learning-rate schedule of :func:`train` on ``optimizer``: cosine annealing from its step size to ``lr_floor``
    times it over ``n_iter`` (or constant)."""
    top = 1 - lr_floor
    schedule = (lambda i: lr_floor + top * 0.5 * (1 + math.cos(math.pi * i / n_iter))) if cosine else (lambda i: 1.0)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)


def adam_with_cosine(params, lr: float, n_iter: int, cosine: bool = True, lr_floor: float = 0.01):
    """Adam and its learning-rate schedule: cosine annealing from ``lr`` to ``lr_floor`` times it over ``n_iter``
    (or constant)."""
    optimizer = torch.optim.Adam(params, lr=lr)
    return optimizer, cosine_schedule(optimizer, n_iter, cosine, lr_floor)


class _BestWeights:
    """Evaluates the validation loss, keeps the best weights, and says when patience has run out."""

    def __init__(self, model, validation, loss_fn, predict, patience):
        self.model, self.validation, self.loss_fn, self.predict = model, validation, loss_fn, predict
        self.patience, self.best, self.state, self.bad = patience, math.inf, None, 0

    def evaluate(self, iteration: int, history: History) -> bool:
        """Log the validation loss at ``iteration``; True when training should stop."""
        self.model.eval()
        with torch.no_grad():
            value = self.loss_fn(self.predict(self.model, self.validation[0]), self.validation[1]).item()
        self.model.train()
        history.log(val_iteration=iteration, val_loss=value)
        if value < self.best:
            self.best, self.state, self.bad = value, copy.deepcopy(self.model.state_dict()), 0
            history.best_iteration = iteration
            return False
        self.bad += 1
        return self.patience is not None and self.bad >= self.patience


def train(model: nn.Module, sample_batch, n_iter: int = 1000, lr: float = 1e-3, optimizer=None, loss_fn=None,
          predict=None, validation=None, eval_every: int = 50, patience: int | None = None, seed=0, cosine: bool = True,
          lr_floor: float = 0.01, progress: bool = True, description: str = "training"):
    """Train ``model`` with Adam (or ``optimizer``) on batches from ``sample_batch(generator) -> (inputs, targets)``.

    Parameters
    ----------
    model : nn.Module
        Trained in place; on return it holds the weights with the best validation loss (or the
        last weights when there is no validation set), in eval mode.
    sample_batch : callable
        Called with a seeded ``torch.Generator``; returns ``(inputs, targets)``.
    n_iter, lr : int, float
        Number of Adam steps and the learning rate (cosine-annealed to ``lr_floor`` times it if ``cosine``).
    optimizer : torch.optim class or callable, optional
        Adam by default; a ``torch.optim`` class is built with ``lr``, any other callable is a factory
        ``params -> torch.optim.Optimizer`` that sets its own step size (:func:`make_optimizer`), e.g.
        ``lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)``. The schedule (``cosine``) applies to either.
    loss_fn : callable, optional
        ``loss_fn(predict(model, inputs), targets)``; mean squared error by default.
    predict : callable, optional
        ``predict(model, inputs)``; ``model(inputs)`` by default (``unfolding.every_layer`` for a loss
        on every layer, e.g. ``unfolding.all_layer_log_loss``).
    validation : (inputs, targets), optional
        Fixed data evaluated every ``eval_every`` iterations (and at the last one).
    patience : int, optional
        Stop when the validation loss has not improved for this many evaluations.
    seed : int or torch.Generator
        Seeds the batches: the same seed gives the same run.

    Returns
    -------
    model, history
        The trained model and its :class:`~course_lib.history.History`.
    """
    check_positive_int(n_iter, "n_iter", "train")
    check_number(lr, "lr", "train", strict=True)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError(f"{type(model).__name__} has no trainable parameters")
    loss_fn = loss_fn or nn.functional.mse_loss
    predict = predict or (lambda m, inputs: m(inputs))
    generator = as_generator(seed)
    lr_floor = check_number(lr_floor, "lr_floor", "train")
    if optimizer is None:
        optimizer, scheduler = adam_with_cosine(params, lr, n_iter, cosine, lr_floor)
    else:
        optimizer = make_optimizer(optimizer, params, lr, "train")
        scheduler = cosine_schedule(optimizer, n_iter, cosine, lr_floor)
    keeper = _BestWeights(model, validation, loss_fn, predict, patience) if validation is not None else None
    history = History(best_iteration=n_iter, stopped_early=False, seconds=0.0)
    from tqdm.auto import tqdm

    bar = tqdm(range(1, n_iter + 1), desc=description, leave=False, mininterval=0.5, disable=not progress)
    start = time.perf_counter()
    model.train()
    for iteration in bar:
        inputs, targets = sample_batch(generator)
        loss = loss_fn(predict(model, inputs), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        history.log(loss=loss.item())
        if keeper is not None and (iteration % eval_every == 0 or iteration == n_iter):
            if keeper.evaluate(iteration, history):
                history.stopped_early = True
                break
        if iteration % 20 == 1:
            bar.set_postfix(loss=f"{history.loss[-1]:.3g}")
    if keeper is not None and keeper.state is not None:
        model.load_state_dict(keeper.state)
    else:
        history.best_iteration = len(history.loss)
    model.eval()
    history.seconds = time.perf_counter() - start
    return model, history
