"""Checks of lecture 05 (the geometry of deep learning): a Haar encoder-decoder, and a ReLU network's local linear map."""
from __future__ import annotations

import torch
from torch import nn

from .core import CheckFailed, check_close, check_tensor_result, passed
from .own_work import check_own_work

__all__ = ["check_encoder_decoder", "check_local_linear_map"]

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
    low_only, high_only = unlift(torch.cat([c[..., :8], 0 * c[..., 8:]], -1)), unlift(torch.cat([0 * c[..., :8], c[..., 8:]], -1))
    if torch.allclose(pooled, high_only, atol=1e-10):
        raise CheckFailed("encoder_decoder(x, highpass=False) kept the details and dropped the approximation: lift(x) "
                          "holds the approximation first (the first half), then the details")
    if torch.allclose(full, low_only, atol=1e-10):
        raise CheckFailed("encoder_decoder(x, highpass=True) dropped the high-pass branch: with it, every coefficient "
                          "of lift(x) goes to the decoder")
    if torch.allclose(full, x / 2 ** 0.5, atol=1e-10) or torch.allclose(full, 2 * x, atol=1e-10):
        raise CheckFailed("encoder_decoder(x, highpass=True) rescaled the signal: lift is orthonormal, so decode with "
                          "unlift, its exact inverse, and add no factor")
    check_close(full, x, "encoder_decoder(x, highpass=True)", "with both branches Haar pooling and unpooling form an "
                "orthonormal basis: x comes back exactly (perfect reconstruction)", atol=1e-10)
    for factor in (2.0, 0.5, 2 ** 0.5, 2 ** -0.5):
        if torch.allclose(pooled, factor * low_only, atol=1e-10):
            raise CheckFailed(f"encoder_decoder(x, highpass=False) is {factor:.3g} times the pooled signal: pooling lost its "
                              "orthonormal scaling. The Haar pair is (x0 + x1)/sqrt(2), undone by unlift exactly; use "
                              "lift and unlift rather than sums or means of your own")
    check_close(pooled, low_only, "encoder_decoder(x, highpass=False)", "without the high-pass branch, zero the second "
                "half of lift(x) (the details) and unlift", atol=1e-10)
    lost, high = (x - pooled).pow(2).sum(), c[..., 8:].pow(2).sum()
    if not torch.isclose(lost, high, rtol=1e-9):
        raise CheckFailed(f"without the high-pass branch the energy lost, {lost.item():.6g}, should equal the details' "
                          f"energy, {high.item():.6g} (Parseval)")
    passed("encoder_decoder: perfect reconstruction with the high-pass branch; without it exactly the details' energy "
           "is lost")


def _net(seed: int):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 7), nn.ReLU(), nn.Linear(7, 5), nn.ReLU(), nn.Linear(5, 2)).to(torch.float64)


def check_local_linear_map(local_linear_map) -> None:
    """``local_linear_map(net, x) -> (W, b)`` with ``net(z) = W z + b`` on the region of ``x``, for an
    ``nn.Sequential`` of ``nn.Linear`` and ``nn.ReLU``."""
    check_own_work(local_linear_map, *OWN_WORK)
    for seed in (1, 2, 3):
        net = _net(seed)
        x = torch.randn(3, generator=torch.Generator().manual_seed(10 + seed), dtype=torch.float64)
        result = local_linear_map(net, x)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise CheckFailed(f"local_linear_map(net, x) returned {type(result).__name__}; expected a pair (W, b)")
        W, b = result
        call = f"local_linear_map(net, x) (3 inputs, hidden 7 and 5, 2 outputs, seed {seed})"
        W = check_tensor_result(W, call + "'s W", shape=(2, 3))
        b = check_tensor_result(b, call + "'s b", shape=(2,))
        jacobian = torch.autograd.functional.jacobian(net, x)
        all_active = net[4].weight @ net[2].weight @ net[0].weight
        if torch.allclose(W, all_active, atol=1e-10) and not torch.allclose(jacobian, all_active, atol=1e-10):
            raise CheckFailed(f"{call}: W treats every unit as active. The pattern is the sign of the pre-activation, "
                              "h > 0 before the ReLU; after the ReLU every value is >= 0, and 'ReLU(h) >= 0' is always true")
        check_close(W, jacobian, call + "'s W", "W is the product of the layers' weights with each ReLU replaced by "
                    "the diagonal of its active units (pre-activation > 0) at x; it equals the Jacobian", atol=1e-10)
        with torch.no_grad():
            out = net(x)
        if not torch.allclose(W @ x + b, out, atol=1e-10):
            raise CheckFailed(f"{call}: W x + b = {(W @ x + b).tolist()} but net(x) = {out.tolist()}: W is right, the "
                              "offset b is not; the biases pass through the later layers' weights and masks too")
    passed("local_linear_map: W is the Jacobian and W x + b is the output, on three networks")
