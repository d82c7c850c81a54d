"""Lecture 04's recorded runs: ``python scripts/train_lifting.py`` (about 10 minutes on 2 CPU cores).

- The lifting network: a :class:`~course_lib.lifting.LiftingNetwork` trained to denoise at every noise level of
  ``sigma_range`` (one drawn per patch), on random patches of :data:`~course_lib.data.TRAINING_IMAGES` less
  :data:`VALIDATION_IMAGE`; the held-out test images are never seen.
- Its ablation: the same network and training with the wavelet fixed (``hidden = 0``: no CNN in the predict and
  update steps), so that only the detail denoiser learns.
- Plug-and-play tuned on the validation image: each denoiser's strength (a factor on the noise level it is told)
  on a grid, and the TV-deblurring baseline's weight on a fine grid, solved to convergence
  (:func:`course_lib.pnp.tv_deblur`).

The record's name, ``lifting_sigma25``, is from its first version (one noise level, 25/255); it is kept until every
record is regenerated together (renaming it changes ``course_lib/lectures/__init__.py``, which every record's hash
covers). :func:`pretrained_lifting_network` builds a network from the record, checked against the recipe and the code.
"""
from __future__ import annotations

import torch

from ..data import TRAINING_IMAGES, random_patches, test_image
from ..lifting import LiftingNetwork, WaveletTransform
from ..metrics import psnr
from ..operators import Convolution2D, gaussian_kernel
from ..pnp import hqs, penalty_schedule, tv_deblur, tv_denoiser, wavelet_denoiser
from ..training import train
from .recorded import Record

__all__ = ["VALIDATION_IMAGE", "RECIPE", "NETWORK_KEYS", "train_lifting_denoiser", "deblurring_problem",
           "pnp_denoisers", "run", "RECORD", "pretrained_lifting_network", "pnp_tuning"]

#: The training image every parameter of lecture 04 is tuned on (never trained on).
VALIDATION_IMAGE = "chelsea"

#: How the shipped networks are trained and plug-and-play is tuned.
RECIPE = {"sigma_range": [2 / 255, 50 / 255], "levels": 3, "hidden": 16, "shrinkage_hidden": 32, "shrinkage_depth": 4,
          "n_iter": 1200, "lr": 3e-3, "batch": 16, "patch": 64, "seed": 0,
          "pnp": {"size": 128, "blur": 1.6, "noise": 0.01, "seed": 3, "n_iter": 20, "sigma_start": 0.1,
                  "factors": [0.1, 0.15, 0.2, 0.25, 0.35, 0.5, 0.7, 1.0, 1.4, 2.0],
                  "tv_lams": [1e-4, 1.5e-4, 2e-4, 3e-4, 4e-4, 5e-4, 7e-4, 1e-3, 1.5e-3, 2e-3, 3e-3, 5e-3]}}

#: The networks of the record: the learned lifting network and its ablation with the wavelet fixed.
NETWORK_KEYS = ("learned", "fixed wavelet")


def train_lifting_denoiser(sigma_range, levels: int, hidden: int, shrinkage_hidden: int, shrinkage_depth: int,
                           n_iter: int, lr: float, batch: int, patch: int, seed: int, progress: bool = True,
                           description: str = "lifting network"):
    r"""Train a :class:`~course_lib.lifting.LiftingNetwork` to denoise at noise levels drawn uniformly from
    ``sigma_range`` (one per patch, and the network told it) on random patches of the training images less
    :data:`VALIDATION_IMAGE`, minimising the squared error over :math:`\sigma^2` (plain MSE would weigh the highest
    noise levels most and neglect the low ones, which plug-and-play ends at). Returns ``(net, history)``
    (:func:`course_lib.training.train`)."""
    low, high = sigma_range
    with torch.random.fork_rng():            # the initial weights from the seed, the caller's global RNG untouched
        torch.manual_seed(seed)
        net = LiftingNetwork(levels, hidden, shrinkage_hidden=shrinkage_hidden, shrinkage_depth=shrinkage_depth)
    images = [test_image(name, None) for name in TRAINING_IMAGES if name != VALIDATION_IMAGE]

    def noisy_patches(gen):                  # targets in units of each patch's sigma: see predict below
        x = random_patches(images, batch, patch, seed=gen)
        sigma = (low + (high - low) * torch.rand(batch, generator=gen))[:, None, None, None]
        return (x + sigma * torch.randn(x.shape, generator=gen), sigma), x / sigma

    def predict(model, inputs):              # the loss is the MSE over sigma^2: every noise level weighs the same
        y, sigma = inputs
        return model.denoise(y, sigma.reshape(-1)) / sigma

    return train(net, noisy_patches, n_iter=n_iter, lr=lr, predict=predict, seed=seed, progress=progress,
                 description=description)


def deblurring_problem(name: str, size: int, blur: float, noise: float, seed: int, **_) -> tuple:
    """``(x, A, y)``: the test image ``name`` (float64), a circular Gaussian blur of width ``blur`` and ``y = Ax + n``
    with white noise of level ``noise`` drawn from ``seed``."""
    x = test_image(name, size, dtype=torch.float64)
    A = Convolution2D(gaussian_kernel(blur, dtype=torch.float64), x.shape, padding="circular")
    y = A(x) + noise * torch.randn(x.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return x, A, y


def pnp_denoisers(networks: dict, size: int) -> dict:
    """The plug-and-play denoisers ``{name: factor -> denoiser(v, sigma)}``: 5/3 wavelet thresholding (3 levels),
    TV (Chambolle) and the record's ``networks`` (``{name: LiftingNetwork}``), each told ``factor * sigma``."""
    W = WaveletTransform((size, size), "legall53", levels=3)

    def network(net):
        def make(factor):
            def denoise(v, sigma):
                with torch.no_grad():
                    weights = next(net.parameters())
                    return net.denoise(v[None, None].to(weights.dtype), factor * sigma)[0, 0].to(v.dtype)
            return denoise
        return make

    found = {"wavelet 5/3": lambda factor: wavelet_denoiser(W, factor), "TV (Chambolle)": tv_denoiser}
    found.update({f"lifting network, {name}": network(net) for name, net in networks.items()})
    return found


def run(recipe: dict = RECIPE, progress: bool = False) -> dict:
    """Train both networks with ``recipe``, then tune plug-and-play and TV deblurring on :data:`VALIDATION_IMAGE`: the
    weights, the loss per step, the parameter counts, the validation PSNR of every denoiser at every factor and of TV
    deblurring at every weight."""
    training = {k: v for k, v in recipe.items() if k != "pnp"}
    payload, networks = {}, {}
    for key in NETWORK_KEYS:
        settings = dict(training, hidden=0) if key == "fixed wavelet" else training
        net, history = train_lifting_denoiser(**settings, progress=progress, description=f"lifting network ({key})")
        networks[key] = net
        payload[key] = {"weights": {k: v.detach().clone() for k, v in net.state_dict().items()},
                        "loss": torch.tensor(history.loss, dtype=torch.float32), "parameters": net.n_parameters}
    setting = recipe["pnp"]
    x, A, y = deblurring_problem(VALIDATION_IMAGE, **setting)
    schedule = penalty_schedule(setting["noise"], setting["n_iter"], sigma_start=setting["sigma_start"])
    payload["pnp"] = {name: torch.tensor([psnr(hqs(A, y, make(factor), schedule)[0], x)
                                          for factor in setting["factors"]], dtype=torch.float64)
                      for name, make in pnp_denoisers(networks, setting["size"]).items()}
    payload["tv_deblur"] = torch.tensor([psnr(tv_deblur(A, y, lam)[0], x) for lam in setting["tv_lams"]],
                                        dtype=torch.float64)
    return payload


#: The record: ``RECORD.load()`` gives :func:`run`'s payload, ``RECORD.make()`` regenerates it.
RECORD = Record("lifting_sigma25", RECIPE, run, __name__, "python scripts/train_lifting.py")


def pretrained_lifting_network(key: str = "learned", record: Record = RECORD) -> LiftingNetwork:
    """A shipped :class:`~course_lib.lifting.LiftingNetwork` (eval mode, float32): ``key`` "learned" (the lifting
    network) or "fixed wavelet" (its ablation), trained by :func:`run` with :data:`RECIPE`; an error says how to
    regenerate it if the code or the recipe has changed since."""
    if key not in NETWORK_KEYS:
        raise ValueError(f"key is {key!r}; pretrained_lifting_network expects one of {NETWORK_KEYS}")
    payload, recipe = record.load(), record.recipe
    hidden = 0 if key == "fixed wavelet" else recipe["hidden"]
    net = LiftingNetwork(recipe["levels"], hidden, shrinkage_hidden=recipe["shrinkage_hidden"],
                         shrinkage_depth=recipe["shrinkage_depth"])
    net.load_state_dict(payload[key]["weights"])
    return net.eval()


def pnp_tuning(record: Record = RECORD) -> dict:
    """What :func:`run` measured on the validation image: ``{"factors", "pnp": {denoiser: PSNR per factor}, "best":
    {denoiser: its best factor}, "tv_lams", "tv_deblur": PSNR per weight, "tv_lam": the best weight}``."""
    payload, setting = record.load(), record.recipe["pnp"]
    factors, lams = setting["factors"], setting["tv_lams"]
    return {"factors": factors, "pnp": payload["pnp"],
            "best": {name: factors[int(scores.argmax())] for name, scores in payload["pnp"].items()},
            "tv_lams": lams, "tv_deblur": payload["tv_deblur"], "tv_lam": lams[int(payload["tv_deblur"].argmax())]}
