"""Checks of lecture 05 (the geometry of deep learning): a Haar encoder-decoder, and a ReLU network's
local linear map."""
from __future__ import annotations

import torch
from torch import nn

from .core import CheckFailed, check_close, check_tensor_result, passed
from .own_work import check_own_work

__all__ = ["check_encoder_decoder", "check_skip_decoder", "check_local_linear_map"]

# the library's references of what this lecture's exercise asks the student to write (metadata course.forbidden)
OWN_WORK = ("geometry.haar_encoder_decoder", "geometry.encoder_decoder", "geometry.local_linear_map")


def check_encoder_decoder(encoder_decoder) -> None:
    """``encoder_decoder(x, highpass)``: one level of Haar pooling (lecture 04's ``lift``) along the last axis, the
    detail branch kept or zeroed, then unpooling (``unlift``)."""
    check_own_work(encoder_decoder, *OWN_WORK)
    from ..lifting import lift, unlift

    x = torch.randn(3, 16, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    full = check_tensor_result(encoder_decoder(x, True), "encoder_decoder(x of shape (3, 16), highpass=True)",
                               shape=(3, 16))
    pooled = check_tensor_result(encoder_decoder(x, False), "encoder_decoder(x, highpass=False)", shape=(3, 16))
    c = lift(x)
    low_only, high_only = (unlift(torch.cat([c[..., :8], 0 * c[..., 8:]], -1)),
                           unlift(torch.cat([0 * c[..., :8], c[..., 8:]], -1)))
    if torch.allclose(pooled, high_only, atol=1e-10):
        raise CheckFailed("encoder_decoder(x, highpass=False) kept the details and dropped the approximation: lift(x) "
                          "holds the approximation first (the first half), then the details")
    if torch.allclose(full, low_only, atol=1e-10):
        raise CheckFailed("encoder_decoder(x, highpass=True) dropped the high-pass branch: with it, every coefficient "
                          "of lift(x) goes to the decoder")
    factor = ((full * x).sum() / (x * x).sum()).item()
    if abs(factor - 1) > 1e-6 and torch.allclose(full, factor * x, atol=1e-10):
        raise CheckFailed(f"encoder_decoder(x, highpass=True) rescaled the signal by {factor:.4g}: "
                          "lift is orthonormal, so decode with unlift, its exact inverse, and add no factor")
    check_close(full, x, "encoder_decoder(x, highpass=True)", "with both branches Haar pooling and unpooling form an "
                "orthonormal basis: x comes back exactly (perfect reconstruction)", atol=1e-10)
    for factor in (2.0, 0.5, 2 ** 0.5, 2 ** -0.5):
        if torch.allclose(pooled, factor * low_only, atol=1e-10):
            raise CheckFailed(f"encoder_decoder(x, highpass=False) is {factor:.3g} times the pooled signal: "
                              "pooling lost its orthonormal scaling. The Haar pair is (x0 + x1)/sqrt(2), "
                              "undone by unlift exactly; use lift and unlift rather than sums or means of your own")
    check_close(pooled, low_only, "encoder_decoder(x, highpass=False)", "without the high-pass branch, zero the second "
                "half of lift(x) (the details) and unlift", atol=1e-10)
    lost, high = (x - pooled).pow(2).sum(), c[..., 8:].pow(2).sum()
    if not torch.isclose(lost, high, rtol=1e-9):
        raise CheckFailed(f"without the high-pass branch the energy lost, {lost.item():.6g}, should equal the details' "
                          f"energy, {high.item():.6g} (Parseval)")
    passed("encoder_decoder: perfect reconstruction with the high-pass branch; without it exactly the details' energy "
           "is lost")


def _net(seed: int):
    """3 inputs, hidden layers of 7 and 5, 2 outputs; weights from a seeded generator. ``nn.Linear``'s own
    initialisation (overwritten here) runs with the global RNG forked, so the caller's random state is untouched."""
    g = torch.Generator().manual_seed(seed)
    layers = []
    for a, b in ((3, 7), (7, 5), (5, 2)):
        with torch.random.fork_rng():
            layer = nn.Linear(a, b)
        with torch.no_grad():
            layer.weight.copy_(torch.randn(b, a, generator=g) / a ** 0.5)
            layer.bias.copy_(0.3 * torch.randn(b, generator=g))
        layers += [layer, nn.ReLU()]
    return nn.Sequential(*layers[:-1]).to(torch.float64)


def _pooling_matrix(n: int) -> torch.Tensor:
    """The (n/2, n) matrix of one level of Haar pooling, lift's first half, read off lift column by column."""
    from ..lifting import lift

    return lift(torch.eye(n, dtype=torch.float64))[..., : n // 2].T


def check_skip_decoder(skip_decoder) -> None:
    """``skip_decoder(skip, low)``: the least-squares (canonical dual) decoder of the encoder x -> (x, pooled x)."""
    check_own_work(skip_decoder, *OWN_WORK)
    from ..lifting import lift, unlift

    g = torch.Generator().manual_seed(8)
    x = torch.randn(3, 16, generator=g, dtype=torch.float64)
    agree = check_tensor_result(skip_decoder(x.clone(), lift(x)[..., :8]), "skip_decoder(x, lift(x)[..., :8]) for x "
                                "(3, 16)", shape=(3, 16))
    skip = torch.randn(3, 16, generator=g, dtype=torch.float64)                # two branches that disagree
    low = torch.randn(3, 8, generator=g, dtype=torch.float64)
    out = check_tensor_result(skip_decoder(skip.clone(), low.clone()), "skip_decoder(skip, low) with branches that "
                              "disagree", shape=(3, 16))
    unpooled = unlift(torch.cat([low, torch.zeros_like(low)], -1))
    if torch.allclose(out, skip, atol=1e-10):
        raise CheckFailed("skip_decoder(skip, low) returned the skip branch: right when the branches agree, but the "
                          "pooled branch carries information too; decode both, in the least-squares sense")
    if torch.allclose(out, (skip + unpooled) / 2, atol=1e-10) or torch.allclose(out, skip + unpooled, atol=1e-10):
        raise CheckFailed("skip_decoder(skip, low) adds (or averages) the two branches: that is B B^T's right-hand "
                          "side; the decoder must still apply (B B^T)^(-1) = (I + Π)^(-1) to it")
    check_close(agree, x, "skip_decoder(x, pooled x)", "both branches come from the same x: the decoder must give that "
                "x back (perfect reconstruction with a skip connection)", atol=1e-10)
    P = _pooling_matrix(16)
    stacked = torch.cat([torch.eye(16, dtype=torch.float64), P])                # [I; P] x = [skip; low], least squares
    best = torch.linalg.lstsq(stacked, torch.cat([skip, low], -1).T).solution.T
    check_close(out, best, "skip_decoder(skip, low) with branches that disagree", "the decoder returns the x that "
                "minimises ||x - skip||^2 + ||pool(x) - low||^2: solve (I + Π) x = skip + unpool(low), with Π = "
                "unpool(pool(.)) a projection", atol=1e-10)
    passed("skip_decoder: perfect reconstruction through the skip connection, and the least-squares x when the "
           "branches disagree")


def check_local_linear_map(local_linear_map) -> None:
    """``local_linear_map(net, x) -> (W, b)`` with ``net(z) = W z + b`` on the region of ``x``, for an
    ``nn.Sequential`` of ``nn.Linear`` and ``nn.ReLU``."""
    check_own_work(local_linear_map, *OWN_WORK)
    for seed in (1, 2, 3):
        net = _net(seed)
        x = torch.randn(3, generator=torch.Generator().manual_seed(10 + seed), dtype=torch.float64)
        try:
            with torch.inference_mode():                  # from the weights and masks, not through autograd
                result = local_linear_map(net, x)
        except NotImplementedError:
            raise
        except RuntimeError as error:
            raise CheckFailed(f"local_linear_map(net, x) raised RuntimeError ({str(error)[:120]}); "
                              "the check runs it in torch.inference_mode(), where autograd sees nothing: "
                              "build W from the layers' weights and the ReLUs' masks") from None
        if not (isinstance(result, tuple) and len(result) == 2):
            raise CheckFailed(f"local_linear_map(net, x) returned {type(result).__name__}; expected a pair (W, b)")
        W, b = result
        call = f"local_linear_map(net, x) (3 inputs, hidden 7 and 5, 2 outputs, seed {seed})"
        W = check_tensor_result(W, call + "'s W", shape=(2, 3))
        b = check_tensor_result(b, call + "'s b", shape=(2,))
        jacobian = torch.autograd.functional.jacobian(net, x)
        if not W.any() and jacobian.any():
            raise CheckFailed(f"{call}: W is zero. Autograd sees nothing here (the check runs your function in "
                              "torch.inference_mode()): build W from the layers' weights and the ReLUs' masks")
        all_active = net[4].weight @ net[2].weight @ net[0].weight
        if torch.allclose(W, all_active, atol=1e-10) and not torch.allclose(jacobian, all_active, atol=1e-10):
            raise CheckFailed(f"{call}: W treats every unit as active. The pattern is the sign of the pre-activation, "
                              "h > 0 before the ReLU; after the ReLU every value is >= 0, "
                              "and 'ReLU(h) >= 0' is always true")
        check_close(W, jacobian, call + "'s W", "W is the product of the layers' weights with each ReLU replaced by "
                    "the diagonal of its active units (pre-activation > 0) at x; it equals the Jacobian", atol=1e-10)
        with torch.no_grad():
            out = net(x)
        if not torch.allclose(W @ x + b, out, atol=1e-10):
            raise CheckFailed(f"{call}: W x + b = {(W @ x + b).tolist()} but net(x) = {out.tolist()}: W is right, the "
                              "offset b is not; the biases pass through the later layers' weights and masks too")
    passed("local_linear_map: W is the Jacobian and W x + b is the output, on three networks")
