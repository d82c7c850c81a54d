r"""Analytic deep prior against Tikhonov at the same alpha, on the integration operator (n = 200).

Cases (``course_lib.adp``, float64, 10 % relative Gaussian noise, seed 0):

1. ``x_true = u5`` (the seed's example), R = 1/2 ||x||^2, alpha in {0.02, 0.0015, 0.0011};
2. ``x_true`` along ``u2 + 0.6 u5 - 0.4 u9``, R = 1/2 ||x||^2, alpha in {0.02, 0.01, 0.005};
3. (reported, not a target) a sparse ``x_true`` (6 spikes), R = ||x||_1, alpha in {0.005, 0.001},
   against the LASSO at the same alpha (20000 FISTA iterations).

ADP: B starts at A and follows gradient descent on F(B) = 1/2 ||A x(B) - y||^2 with step 0.3 (case 3:
3e-4, through 10 unrolled layers warm-started at the LASSO solution, i.e. converged at B = A), at most
500 steps (case 3: 300), stopped by the
discrepancy principle ||A x(B_k) - y|| <= delta (no ground truth used). For cases 1-2 also the
adaptive-alpha variant (log alpha trained too, step 0.01). Printed: the relative true error of
Tikhonov (or LASSO) and of ADP, the steps, whether the discrepancy principle stopped it, seconds.

Targets (cases 1-2): ADP error below Tikhonov's at the same alpha in every case, by >= 2x for the
smallest alpha of each example; the whole table in <= 20 s on 2 cores.

Run::

    .venv/bin/python benchmarks/adp.py            # about 10 s
    .venv/bin/python benchmarks/adp.py --quick    # smoke test (fewer steps; targets not meaningful)
"""
from __future__ import annotations

import time

START = time.perf_counter()

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _report import print_targets  # noqa: E402  (benchmarks/ is on the path when a script runs)

from course_lib import adp  # noqa: E402

EXAMPLES = {
    "u5": dict(index=5, alphas=(0.02, 0.0015, 0.0011)),
    "u2+0.6u5-0.4u9": dict(index={2: 1.0, 5: 0.6, 9: -0.4}, alphas=(0.02, 0.01, 0.005)),
}
SPARSE_ALPHAS = (0.005, 0.001)
RATIO_TARGET, SECONDS_TARGET = 2.0, 20.0


def relative_error(x, x_true) -> float:
    return ((x - x_true).norm() / x_true.norm()).item()


def run(args) -> list:
    rows = []
    for name, spec in EXAMPLES.items():
        A, x_true, y, delta = adp.integration_example(index=spec["index"], noise=0.1, seed=args.seed)
        for alpha in spec["alphas"]:
            tikhonov = relative_error(adp.tikhonov_solution(A, y, alpha), x_true)
            for adaptive in (False, True):
                r = adp.train_adp(A, y, alpha, n_iter=args.steps, lr=0.3, x_true=x_true, delta=delta,
                                  adaptive_alpha=adaptive, alpha_lr=0.01, track_every=None)
                rows.append(dict(example=name, R="l2", alpha=alpha, adaptive=adaptive, reference=tikhonov,
                                 adp=r.history["error"][-1], steps=r.iterations, stopped=r.stopped_by_discrepancy,
                                 seconds=r.seconds, final_alpha=r.alpha, target=not adaptive))
    A, x_true, y, delta = adp.sparse_integration_example(seed=args.seed)
    for alpha in SPARSE_ALPHAS:
        lasso = adp.lasso_solution(A, y, alpha, n_iter=args.lasso_iters)
        r = adp.train_adp(A, y, alpha, "l1", n_iter=args.sparse_steps, lr=3e-4, x_true=x_true, delta=delta,
                          track_every=None, x0=lasso)     # the network starts converged, at B = A
        rows.append(dict(example="sparse", R="l1", alpha=alpha, adaptive=False, reference=relative_error(lasso, x_true),
                         adp=r.history["error"][-1], steps=r.iterations, stopped=r.stopped_by_discrepancy,
                         seconds=r.seconds, final_alpha=r.alpha, target=False))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=500, help="ADP steps at most (cases 1-2)")
    parser.add_argument("--sparse-steps", type=int, default=300, help="ADP steps (case 3)")
    parser.add_argument("--lasso-iters", type=int, default=20000, help="FISTA iterations of the LASSO reference")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="smoke test: 20 steps, 500 LASSO iterations")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.sparse_steps, args.lasso_iters = 20, 20, 500
    torch.set_num_threads(args.threads)
    print(f"Analytic deep prior vs Tikhonov, integration operator n = 200, 10% noise, float64, torch "
          f"{torch.__version__}, threads {torch.get_num_threads()}" + (" [--quick]" if args.quick else ""))
    rows = run(args)
    print(f"\n{'example':<16}{'R':<4}{'alpha':>8} {'ADP':<9}{'Tikhonov':>9}{'ADP err':>9}{'ratio':>7}{'steps':>7}"
          f"{'stop':>6}{'seconds':>9}{'alpha end':>11}")
    for r in rows:
        kind = "adaptive" if r["adaptive"] else ("unrolled" if r["R"] == "l1" else "fixed")
        ref = "LASSO" if r["R"] == "l1" else ""
        print(f"{r['example']:<16}{r['R']:<4}{r['alpha']:>8g} {kind:<9}{r['reference']:>9.3f}{r['adp']:>9.3f}"
              f"{r['reference'] / r['adp']:>7.2f}{r['steps']:>7}{'yes' if r['stopped'] else 'no':>6}"
              f"{r['seconds']:>9.2f}{r['final_alpha']:>11.2e}" + (f"  (reference: {ref})" if ref else ""))
    print("errors: relative, ||x - x_true|| / ||x_true||; ratio = reference / ADP; stop: the discrepancy "
          "principle ended the training; sparse rows: reference = LASSO at the same alpha, not a target")
    total = time.perf_counter() - START
    targeted = [r for r in rows if r["target"]]
    below = all(r["adp"] < r["reference"] for r in targeted)
    smallest = {name: min(r["alpha"] for r in targeted if r["example"] == name) for name in EXAMPLES}
    ratios = {name: next(r["reference"] / r["adp"] for r in targeted if r["example"] == name
                         and r["alpha"] == smallest[name]) for name in EXAMPLES}
    verdicts = [
        ("ADP error below Tikhonov's at the same alpha in every case (examples 1-2)", below,
         f"{sum(r['adp'] < r['reference'] for r in targeted)}/{len(targeted)}"),
        (f"ADP >= {RATIO_TARGET:g}x better at the smallest alpha of each example", all(v >= RATIO_TARGET for v in ratios.values()),
         ", ".join(f"{n}: {v:.2f}x at {smallest[n]:g}" for n, v in ratios.items())),
        (f"whole table in <= {SECONDS_TARGET:g} s", total <= SECONDS_TARGET, f"{total:.1f} s"),
    ]
    print_targets(verdicts, total, args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
