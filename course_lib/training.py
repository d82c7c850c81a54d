"""One small training loop for every learned model of the course: seeded, with a progress bar,
the loss history, and early stopping on a validation set.

Plain PyTorch: the loop is the textbook one (sample a batch, loss, backward, Adam step), so a
student can read it in one go. Training data are generated on the fly by ``sample_batch``.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field

import torch
from torch import nn

__all__ = ["TrainHistory", "train"]


@dataclass
class TrainHistory:
    """Training loss per step, validation loss at ``val_steps``, and where the best model was."""

    loss: list = field(default_factory=list)
    val_steps: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    best_step: int = -1
    seconds: float = 0.0
    stopped_early: bool = False


def train(model: nn.Module, sample_batch, n_steps: int = 1000, lr: float = 1e-3, loss_fn=None,
          validation=None, eval_every: int = 50, patience: int | None = None, seed: int = 0,
          cosine: bool = True, progress: bool = True, description: str = "training",
          predict=None) -> TrainHistory:
    """Train ``model`` with Adam on batches from ``sample_batch(generator) -> (inputs, targets)``.

    Parameters
    ----------
    model : nn.Module
        Trained in place; on return it holds the weights with the best validation loss (or the
        last weights when there is no validation set).
    sample_batch : callable
        Called with a seeded ``torch.Generator``; returns ``(inputs, targets)``.
    n_steps, lr : int, float
        Number of Adam steps and the learning rate (cosine-annealed to 1% of it if ``cosine``).
    loss_fn : callable, optional
        ``loss_fn(model(inputs), targets)``; mean squared error by default.
    validation : (inputs, targets), optional
        Fixed data evaluated every ``eval_every`` steps.
    patience : int, optional
        Stop when the validation loss has not improved for this many evaluations.
    seed : int
        Seeds the batch generator: the same seed gives the same run.
    predict : callable, optional
        ``predict(model, inputs)`` gives what ``loss_fn`` compares with the targets; ``model(inputs)``
        by default (e.g. ``lambda m, y: m(y, all_layers=True)`` for a loss on every layer).
    """
    if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 1:
        raise ValueError(f"n_steps is {n_steps!r}; train expects a positive integer")
    if not lr > 0:
        raise ValueError(f"lr is {lr}; train expects a positive learning rate")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError(f"{type(model).__name__} has no trainable parameters")
    loss_fn = loss_fn or nn.functional.mse_loss
    predict = predict or (lambda m, inputs: m(inputs))
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(params, lr=lr)
    schedule = (lambda s: 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * s / n_steps))) if cosine else (lambda s: 1.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    history, best_state, best_val, bad_evals = TrainHistory(), None, math.inf, 0
    steps = range(n_steps)
    if progress:
        from tqdm.auto import tqdm
        steps = tqdm(steps, desc=description, leave=False, mininterval=0.5)
    start = time.perf_counter()
    model.train()
    for step in steps:
        inputs, targets = sample_batch(generator)
        loss = loss_fn(predict(model, inputs), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        history.loss.append(loss.item())
        if validation is not None and ((step + 1) % eval_every == 0 or step + 1 == n_steps):
            model.eval()
            with torch.no_grad():
                val = loss_fn(predict(model, validation[0]), validation[1]).item()
            model.train()
            history.val_steps.append(step + 1)
            history.val_loss.append(val)
            if val < best_val:
                best_val, best_state, bad_evals = val, copy.deepcopy(model.state_dict()), 0
                history.best_step = step + 1
            else:
                bad_evals += 1
                if patience is not None and bad_evals >= patience:
                    history.stopped_early = True
                    break
        if progress and step % 20 == 0:
            steps.set_postfix(loss=f"{history.loss[-1]:.3g}")
    if best_state is not None:
        model.load_state_dict(best_state)
    elif history.loss:
        history.best_step = len(history.loss)
    model.eval()
    history.seconds = time.perf_counter() - start
    return history
