r"""Lecture 05's claims, measured: encoder-decoders as frames, linear regions of ReLU networks, Hankel low rank.

1. **Perfect reconstruction.** Three test images (camera, astronaut, coins; ``--size`` squared) through the linear
   Haar encoder-decoder (``course_lib.geometry.haar_encoder_decoder``, lecture 04's lifting transform) with 1 to 3
   levels: with the high-pass branch, without it, and without it but with a skip connection. Relative error, and
   for the pooling-only one the lost energy against the energy of the high-pass coefficients.
2. **Linear regions.** Fully connected ReLU networks with ``--inputs`` inputs and He initialisation (Kaiming normal,
   zero biases plus a small random shift), ``--nets`` networks per shape: the regions crossed along ``--lines``
   random segments (two points of the unit sphere's radius-``3`` ball), counted by the activation patterns at
   ``--samples`` points per segment. Depth 1 to 6 at width 16, and width 8 to 64 at depth 3; the growth is fitted
   (the median against depth, linear and in log: regions added and a rate per layer; log against log width: an
   exponent). At initialisation the count grows about linearly with the number of neurons (Hanin & Rolnick,
   ICML 2019), far below the exponential number of regions a deep network *can* have. The same depths with skip
   connections (``geometry.relu_network(skip=True)``: every hidden layer after the first is ``h + ReLU(W h + b)``).
3. **Hankel low-rank denoising** (``low_rank_denoise``, window n/2) of signals of length ``--length`` with noise
   0.1: three cosines on the grid (rank 6), three damped cosines off the grid, and a row of the camera image;
   PSNR of the noisy signal and of the denoiser at its best rank on a grid (an oracle: it sees the truth).

Targets (issue 16): perfect reconstruction <= 1e-10 (float64) with the high-pass branch and with the skip; the
lost energy equal to the high-pass energy (relative difference <= 1e-10); the median region count grows with
depth and with width; the denoiser beats the noisy input by >= 3 dB on the periodic cosines. The damped cosines
are not periodic: their circular Hankel matrix, which wraps the end around to the start, is not of low rank, and
the table shows what that costs.

Run::

    .venv/bin/python benchmarks/geometry.py            # about 25 s
    .venv/bin/python benchmarks/geometry.py --quick    # smoke test: small sizes (targets not meaningful)

The figures, the targets and the verdict are also written as JSON, to benchmarks/results/geometry.json
(geometry-quick.json with --quick) or to ``--json PATH`` (see benchmarks/README.md).
"""
from __future__ import annotations

import time

START = time.perf_counter()

import math
import statistics
import sys

import torch
from _report import BenchmarkParser, report, target  # (importing _report puts the repository on sys.path)

from course_lib import data
from course_lib import geometry as geo
from course_lib.lifting import WaveletTransform, detail_mask
from course_lib.metrics import psnr

F64 = torch.float64
IMAGES = ("camera", "astronaut", "coins")
DEPTHS, WIDTHS = (1, 2, 3, 4, 5, 6), (8, 16, 32, 64)
COUNTS = """
size      256   64   images are size x size
lines     100   10   random segments per network
nets        5    2   networks per depth or width
samples  4000  500   points per segment
inputs      8    8   inputs of the networks
length    512  128   length of the 1-D signals
"""


def reconstruction(args) -> list:
    rows = []
    for name in IMAGES:
        x = data.test_image(name, args.size, dtype=F64)
        for levels in (1, 2, 3):
            error = lambda out, x=x: ((out - x).norm() / x.norm()).item()
            W = WaveletTransform(tuple(x.shape), "haar", levels=levels)
            high = (W(x) * detail_mask(W)).pow(2).sum().item()
            lost = (x - geo.haar_encoder_decoder(x, levels, highpass=False)).pow(2).sum().item()
            rows.append(dict(image=name, levels=levels,
                             with_highpass=error(geo.haar_encoder_decoder(x, levels, highpass=True)),
                             without_highpass=error(geo.haar_encoder_decoder(x, levels, highpass=False)),
                             skip_without_highpass=error(
                                 geo.haar_encoder_decoder(x, levels, highpass=False, skip=True)),
                             lost_energy=lost, highpass_energy=high, energy_gap=abs(lost - high) / high))
    return rows


def regions(args, width: int, depth: int, skip: bool = False) -> float:
    counts = []
    for net_seed in range(args.nets):
        net = geo.relu_network(args.inputs, width, depth, skip=skip, seed=1000 * depth + width + net_seed)
        g = torch.Generator().manual_seed(net_seed)
        for _ in range(args.lines):
            a, b = torch.randn(2, args.inputs, generator=g, dtype=F64)
            a, b = 3 * a / a.norm(), 3 * b / b.norm()
            counts.append(geo.regions_along_line(net, a, b, samples=args.samples))
    return statistics.median(counts)


def slope(xs, ys) -> float:
    """The least-squares slope of ys against xs."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def denoising(args) -> list:
    n, k = args.length, torch.arange(args.length, dtype=F64)
    g = torch.Generator().manual_seed(0)
    signals = {
        "3 cosines on the grid": sum(a * torch.cos(2 * math.pi * f * k / n + p)
                                     for a, f, p in [(1.0, 3, 0.2), (0.5, 11, 1.0), (0.3, 25, 2.0)]),
        "3 damped cosines off the grid": sum(a * torch.exp(-r * k / n) * torch.cos(2 * math.pi * f * k / n + p)
                                             for a, r, f, p in [(1.0, 1.0, 4.3, 0.0), (0.6, 2.0, 9.7, 1.0),
                                                                (0.4, 0.5, 17.2, 2.0)]),
        "a row of camera": data.test_image("camera", n, dtype=F64)[n // 2],
    }
    rows = []
    for name, x in signals.items():
        y = x + 0.1 * torch.randn(n, generator=g, dtype=F64)
        span = (x.max() - x.min()).item()
        scores = {r: psnr(geo.low_rank_denoise(y, n // 2, r), x, data_range=span)
                  for r in (2, 4, 6, 8, 12, 16, 24, 32, 48, 64) if r <= n // 2}
        best = max(scores, key=scores.get)
        rows.append(dict(signal=name, noisy=psnr(y, x, data_range=span), denoised=scores[best], rank=best))
    return rows


def main(argv=None) -> int:
    args = BenchmarkParser(__doc__, COUNTS, quick="depths 1-3, widths 8-32").parse(argv)
    depths, widths = (DEPTHS[:3], WIDTHS[:3]) if args.quick else (DEPTHS, WIDTHS)
    rec = reconstruction(args)
    print(f"{'image':<10}{'levels':>7}{'with high-pass':>16}{'without':>10}{'skip, without':>15}"
          f"{'lost / high-pass':>18}")
    for r in rec:
        print(f"{r['image']:<10}{r['levels']:>7}{r['with_highpass']:>16.1e}{r['without_highpass']:>10.3f}"
              f"{r['skip_without_highpass']:>15.1e}{r['lost_energy'] / r['highpass_energy']:>18.12f}")
    print("relative error ||x_hat - x|| / ||x||; the encoder-decoder decodes with the canonical dual frame")
    by_depth = {d: regions(args, 16, d) for d in depths}
    by_width = {w: regions(args, w, 3) for w in widths}
    by_depth_skip = {d: regions(args, 16, d, skip=True) for d in depths}
    rate = slope(list(by_depth), [math.log(v) for v in by_depth.values()])
    per_layer = slope(list(by_depth), list(by_depth.values()))
    exponent = slope([math.log(w) for w in by_width], [math.log(v) for v in by_width.values()])
    print(f"\nregions crossed by a segment (median of {args.nets} x {args.lines}), {args.inputs} inputs")
    print("depth (width 16): " + ", ".join(f"{d}: {v:g}" for d, v in by_depth.items())
          + f"  -> x{math.exp(rate):.2f} per layer (log fit), +{per_layer:.1f} per layer (linear fit)")
    print("depth, skips:     " + ", ".join(f"{d}: {v:g}" for d, v in by_depth_skip.items())
          + "  (every hidden layer after the first h + ReLU(W h + b))")
    print("width (depth 3):  " + ", ".join(f"{w}: {v:g}" for w, v in by_width.items())
          + f"  -> width^{exponent:.2f}")
    den = denoising(args)
    print(f"\n{'signal':<32}{'noisy':>8}{'Hankel low rank*':>18}{'rank':>6}")
    for r in den:
        print(f"{r['signal']:<32}{r['noisy']:>8.2f}{r['denoised']:>18.2f}{r['rank']:>6}")
    print("PSNR in dB (data range of the clean signal); * at its best rank on a grid (an oracle)")
    total = time.perf_counter() - START
    targets = [
        target("perfect reconstruction with the high-pass branch <= 1e-10", max(r["with_highpass"] for r in rec), "<=",
               1e-10, "{:.1e}"),
        target("perfect reconstruction with the skip, without the high-pass branch <= 1e-10",
               max(r["skip_without_highpass"] for r in rec), "<=", 1e-10, "{:.1e}"),
        target("lost energy = high-pass energy (relative gap <= 1e-10)", max(r["energy_gap"] for r in rec), "<=", 1e-10,
               "{:.1e}"),
        target("regions grow with depth (rate per layer > 1)", math.exp(rate), ">", 1.0, "x{:.2f} per layer"),
        target("regions grow with width (exponent > 0)", exponent, ">", 0.0, "width^{:.2f}"),
        target("Hankel low rank >= noisy + 3 dB on the periodic cosines", den[0]["denoised"] - den[0]["noisy"], ">=",
               3.0, "{:+.2f} dB"),
    ]
    report("geometry", dict(reconstruction=rec, regions=dict(by_depth=by_depth, by_width=by_width,
                                                             by_depth_skip=by_depth_skip,
                                                             rate_per_layer=math.exp(rate), added_per_layer=per_layer,
                                                             width_exponent=exponent),
                            denoising=den), targets, total, args.quick, args.json, vars(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
