r"""Deep image prior denoising: the rise and fall of the PSNR, truth-free stopping, deep decoder, educated DIP.

128x128 grayscale test images (scikit-image's camera, astronaut, coins), Gaussian noise sigma = 25/255,
two seeds each (the noise and the network's initialisation). ``course_lib.dip``:

* DIP: ``SkipNet`` (32 channels, depth 4), Adam lr 0.01, input noise 1/30, EMA 0.99 of the outputs,
  ``--iters`` iterations (1400). Reported: the noisy PSNR, the peak PSNR of the averaged output and its
  iteration, the seconds to reach noisy + 6 dB, and the ES-WMV detector (window 200, patience 300),
  which never sees the truth: the iteration it picks, the PSNR there, the gap to the peak.
* Deep decoder: ``DeepDecoder(32 channels, 4 layers)`` (4.4k weights for 16k pixels), Adam lr 0.01,
  no input noise, EMA 0.99, twice as many iterations as DIP: peak and the gap between the last
  iterate and the peak (under-parameterised: it should not collapse).
* Educated DIP, on deblurring (Gaussian blur of std 1.5 pixels, circular, then the same noise): for
  denoising (and inpainting) :math:`AA^* = I`, so a network fed :math:`A^*y` fits :math:`y` exactly
  by becoming the identity, and fine-tuning falls from the warm start at once (measured: see
  benchmarks/README.md); with a blur it cannot. ``SkipNet`` with one input channel, pretrained once
  (``--pretrain`` steps of 8 dead-leaves images of 64x64: the blur is shift-invariant, so small images
  do) to map :math:`A^*y` to :math:`x`, then fitted in eval mode from :math:`A^*y` (Adam lr 1e-3,
  no input noise, EMA 0.99); DIP as above on the same deblurring problem. Reported: the first
  iteration at which EDIP reaches DIP's peak.

Targets on 2 cores: DIP peak >= noisy + 6 dB within 60 s; the detected stop <= 1 dB below the peak on
every image and seed; the deep decoder ends within 0.3 dB of its peak; EDIP reaches DIP's peak in
<= 1/3 of DIP's iterations to its peak (deblurring). Seconds are those of one run of each fit (not repeated:
they vary with the machine's load).

Run::

    .venv/bin/python benchmarks/dip.py            # about 30 min on a 2-core CPU
    .venv/bin/python benchmarks/dip.py --quick    # smoke test (32x32, few iterations)

The figures, the targets and the verdict are also written as JSON, to benchmarks/results/dip.json
(dip-quick.json with --quick) or to ``--json PATH`` (see benchmarks/README.md).
"""
from __future__ import annotations

import time

START = time.perf_counter()

import copy
import math
import sys

import torch
from _report import BenchmarkParser, report, target  # (importing _report puts the repository on sys.path)

import course_lib as cl
from course_lib import data, dip
from course_lib.metrics import psnr

IMAGES = ("camera", "astronaut", "coins")
SIGMA = 25 / 255
# count options: name, default, --quick value, help
COUNTS = """
iters      1400  60   DIP iterations (the deep decoder: twice as many; EDIP: half)
size       128   32   image size (pixels per side)
seeds      2     1    seeds per image (noise and initialisation)
pretrain   1200  10   EDIP pretraining steps
"""


def first_at_least(curve, level):
    return next((k for k, v in enumerate(curve, 1) if v >= level), None)


def denoise(x, y, args, depth, seed) -> dict:
    """DIP on y = x + noise, watched by ES-WMV (it does not stop the run), and the deep decoder."""
    shape = tuple(x.shape)
    A = cl.Identity(shape)
    torch.manual_seed(seed)
    stop = dip.EarlyStopping(dip.WindowedVarianceDetector(window=10 if args.quick else 200,
                                                          patience=10 if args.quick else 300), stop=False)
    _, history = dip.fit(dip.SkipNet(channels=32, depth=depth), A, y, n_iter=args.iters, lr=0.01, ema=0.99,
                         observers=[dip.Metrics(x), stop], seed=seed, progress=False)
    curve = history.psnr
    peak = max(curve)
    k6 = first_at_least(curve, psnr(y, x) + 6)
    torch.manual_seed(seed)
    dd_net = dip.DeepDecoder(channels=32, n_layers=4 if args.size >= 64 else 2)
    _, dd = dip.fit(dd_net, A, y, n_iter=2 * args.iters, lr=0.01, ema=0.99, input_noise=0,
                    z=dip.generator_input(dd_net.channels, dd_net.input_shape(shape), seed=seed),
                    observers=[dip.Metrics(x)], seed=seed, progress=False)
    return dict(noisy=psnr(y, x), peak=peak, k_peak=curve.index(peak) + 1,
                t6=None if k6 is None else k6 * history.seconds / history.iterations, stop_at=stop.stopped_at,
                chosen=stop.iteration, at_chosen=curve[stop.iteration - 1] if stop.iteration else float("nan"),
                seconds=history.seconds, dd_peak=max(dd.psnr), dd_end=dd.psnr[-1])


def deblur(x, B, educated, args, depth, seed) -> dict:
    """DIP and educated DIP (fine-tuned from the pretrained network) on a blurred, noisy x."""
    yb = data.add_noise(B(x), sigma=SIGMA, seed=seed)
    torch.manual_seed(seed)
    _, plain = dip.fit(dip.SkipNet(channels=32, depth=depth), B, yb, n_iter=args.iters, lr=0.01, ema=0.99,
                       observers=[dip.Metrics(x)], seed=seed, progress=False)
    peak = max(plain.psnr)
    _, ed = dip.fit(copy.deepcopy(educated).eval(), B, yb, n_iter=args.iters // 2, lr=0.001, ema=0.99, input_noise=0,
                    z=dip.educated_input(B, yb), observers=[dip.Metrics(x)], seed=seed, progress=False)
    return dict(blurred=psnr(yb, x), b_peak=peak, b_k_peak=plain.psnr.index(peak) + 1, ed_start=ed.psnr[0],
                ed_reach=first_at_least(ed.psnr, peak), ed_peak=max(ed.psnr))


def main(argv=None) -> int:
    parser = BenchmarkParser(__doc__, COUNTS, "the detector's window and patience 10", threads=2, seed=False)
    parser.add_argument("--blur", type=float, default=1.5, help="std of the Gaussian blur for EDIP, in pixels")
    args = parser.parse(argv)
    print(f"Deep image prior denoising, {args.size}x{args.size}, sigma = 25/255, torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}" + (" [--quick]" if args.quick else ""), flush=True)
    shape = (args.size, args.size)
    depth = 4 if args.size >= 64 else 2

    kernel = cl.gaussian_kernel(args.blur)
    B = cl.Convolution2D(kernel, shape, padding="circular")
    torch.manual_seed(0)
    educated = dip.SkipNet(in_channels=1, channels=32, depth=depth)
    small = max(16, args.size // 2)
    t0 = time.perf_counter()
    dip.pretrain(educated, cl.Convolution2D(kernel, (small, small), padding="circular"), SIGMA, n_iter=args.pretrain,
                 batch=8, lr=0.01, phantoms="dead_leaves", progress=False)
    pretrain_seconds = time.perf_counter() - t0

    rows = []
    for name in IMAGES:
        x = data.test_image(name, args.size)
        for seed in range(args.seeds):
            y = data.add_noise(x, sigma=SIGMA, seed=seed)
            rows.append(dict(image=name, seed=seed, **denoise(x, y, args, depth, seed),
                             **deblur(x, B, educated, args, depth, seed)))
            row = rows[-1]
            print(f"  {name} seed {seed}: DIP peak {row['peak']:.2f} at {row['k_peak']}, detector {row['chosen']} "
                  f"({row['at_chosen']:.2f}), DD {row['dd_peak']:.2f}/{row['dd_end']:.2f}, deblurring DIP "
                  f"{row['b_peak']:.2f} at {row['b_k_peak']}, EDIP reach {row['ed_reach']}",
                  file=sys.stderr, flush=True)

    print(f"\nDenoising (A = I): DIP, its truth-free stop, the deep decoder ({2 * args.iters} iterations)")
    print(f"{'image':<10}{'seed':>5}{'noisy':>7}{'peak':>7}{'at k':>6}{'s to +6dB':>10}{'stop k':>7}{'chosen':>7}"
          f"{'PSNR':>7}{'gap':>6}{'DIP s':>7}{'DD peak':>8}{'DD end':>7}{'DD gap':>7}")
    for r in rows:
        t6 = f"{r['t6']:.1f}" if r["t6"] is not None else "never"
        print(f"{r['image']:<10}{r['seed']:>5}{r['noisy']:>7.2f}{r['peak']:>7.2f}{r['k_peak']:>6}{t6:>10}"
              f"{str(r['stop_at'] or '-'):>7}{str(r['chosen'] or '-'):>7}{r['at_chosen']:>7.2f}"
              f"{r['peak'] - r['at_chosen']:>6.2f}{r['seconds']:>7.1f}{r['dd_peak']:>8.2f}{r['dd_end']:>7.2f}"
              f"{r['dd_peak'] - r['dd_end']:>7.2f}")
    print("PSNR in dB of the averaged output; stop k: where ES-WMV stops (patience after its minimum), chosen: the "
          "iterate it picks; gap = peak - PSNR there; seconds: one run each (not repeated)")
    print(f"\nDeblurring (Gaussian blur std {args.blur} px, same noise): DIP vs educated DIP "
          f"(pretrained once: {args.pretrain} steps of 8 dead-leaves images {small}x{small}, "
          f"{pretrain_seconds:.1f} s, one run)")
    print(f"{'image':<10}{'seed':>5}{'blurred':>8}{'DIP peak':>9}{'at k':>6}{'EDIP k=1':>9}{'EDIP peak':>10}"
          f"{'reach k':>8}")
    for r in rows:
        print(f"{r['image']:<10}{r['seed']:>5}{r['blurred']:>8.2f}{r['b_peak']:>9.2f}{r['b_k_peak']:>6}"
              f"{r['ed_start']:>9.2f}{r['ed_peak']:>10.2f}{str(r['ed_reach'] or '-'):>8}")
    print("reach k: the first EDIP iteration at DIP's peak ('-': not within the run)")
    total = time.perf_counter() - START
    six = [r["t6"] if r["t6"] is not None else float("inf") for r in rows]          # never: inf
    reach = [r["ed_reach"] / r["b_k_peak"] if r["ed_reach"] is not None else float("inf") for r in rows]
    gaps = [r["peak"] - r["at_chosen"] for r in rows]                  # nan where the detector chose nothing
    worst_gap = max(gaps, key=lambda g: math.inf if math.isnan(g) else g)
    targets = [
        target("DIP peak >= noisy + 6 dB within 60 s", max(six), "<=", 60,
               detail=", ".join(f"{r['t6']:.0f} s" if r["t6"] is not None else "never" for r in rows)
               + " (one run each)"),
        target("detected stop <= 1 dB below the peak, every image and seed", worst_gap, "<=", 1, "worst gap {:.2f} dB"),
        target("deep decoder ends within 0.3 dB of its peak", max(r["dd_peak"] - r["dd_end"] for r in rows), "<=", 0.3,
               "worst {:.2f} dB"),
        target("EDIP reaches DIP's peak in <= 1/3 of DIP's iterations (deblurring)", max(reach), "<=", 1 / 3,
               detail=", ".join(f"{r['ed_reach'] or '-'}/{r['b_k_peak']}" for r in rows)),
    ]
    figures = dict(size=args.size, sigma=SIGMA, iterations=args.iters, blur=args.blur, pretrain_steps=args.pretrain,
                   pretrain_seconds=pretrain_seconds, rows=rows)
    report("dip", figures, targets, total, args.quick, args.json, vars(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
