r"""Lecture 02's claims, measured: architectural priors (course_lib.architectures).

1. Model choice by the evidence: ``--draws`` data sets (half from a random 3-tap circular convolution, half from
   a random dense layer; n = 12, 16 samples, noise 0.1); the log evidence of convolutions with 1, 3, 5, 7 taps
   and of a dense layer; how often the largest evidence names the model that made the data.
2. Residual vs plain: ``DeepNet`` with and without skips (He init, batch norm), 56 layers (27 blocks; the
   ResNet-56 vs plain-56 comparison) and 20 layers (9 blocks), trained by SGD (momentum 0.9, lr 0.05, batch 64)
   on scikit-learn's digits for ``--steps-56`` / ``--steps-20`` steps, ``--seeds`` seeds. The training loss is
   the minibatch loss averaged over 20 steps; "steps to match" is the first step at which the residual network's
   loss is at or below the plain network's final loss, over the plain network's steps. The extreme Hessian
   eigenvalues at the end (Lanczos on Hessian-vector products, 256 training images, eval mode), test
   accuracy; and the plain 20-layer network without batch normalisation (it does not train).
3. Rotation equivariance buys samples: ``P4CNN`` against ``PlainCNN`` (about as many weights) without and with
   rotation augmentation, on ``rotated_patterns`` (8 glyphs, noise 0.3, 12x12), trained by Adam for
   ``--p4-steps`` steps on 32 ... 1024 samples, test accuracy on 1000 samples, median over ``--seeds`` seeds;
   the fewest samples at which the P4CNN reaches each CNN's accuracy at 1024 samples.

Targets (issue 14): the residual network matches the plain one's final training loss in <= 1/3 of the steps
(median, 56 layers); its top Hessian eigenvalue is smaller (median); the evidence picks the generating model
in >= 95 % of the draws; the P4CNN reaches the CNN's accuracy with <= 1/4 of the samples (the CNN trained without
rotation augmentation, and with it).

Run::

    .venv/bin/python benchmarks/architectures.py --threads 2          # about twelve minutes
    .venv/bin/python benchmarks/architectures.py --quick              # smoke test (targets not meaningful)

The figures, the targets and the verdict are also written as JSON, to benchmarks/results/architectures.json
(architectures-quick.json with --quick) or to ``--json PATH`` (see benchmarks/README.md).
"""
from __future__ import annotations

import time

START = time.perf_counter()

import statistics
import sys

import torch
from _report import BenchmarkParser, report, target  # (importing _report puts the repository on sys.path)
from torch.nn import functional as F

from course_lib import architectures as arch
from course_lib import data

COUNTS = """
draws       100   10   data sets for the evidence
seeds       5     1    seeds of every training
steps-56    300   10   training steps of the 56-layer networks
steps-20    400   10   training steps of the 20-layer networks
p4-steps    300   10   training steps of the rotated-pattern classifiers
hessian-iters 20  5    Lanczos restarts (at most) per end of the Hessian spectrum
"""
SIZES = (32, 64, 128, 256, 512, 1024)
QUICK = "the residual networks have 2 and 1 blocks, the rotated-pattern task 32 and 64 samples"


def evidence(args) -> dict:
    right = 0
    for i in range(args.draws):
        model = "convolution" if i % 2 == 0 else "dense"
        X, Y = arch.linear_data(model, n=12, n_samples=16, seed=args.seed + i)
        scores = arch.model_evidence(X, Y)
        chosen = max(scores, key=lambda name: scores[name][1])
        right += chosen == ("convolution, 3 taps" if model == "convolution" else "dense")
    return dict(draws=args.draws, right=right, fraction=right / args.draws)


def smooth(losses, width=20):
    return [sum(losses[max(0, i - width + 1):i + 1]) / len(losses[max(0, i - width + 1):i + 1])
            for i in range(len(losses))]


def residual_vs_plain(args, n_blocks, steps, digits) -> dict:
    x, y, x_test, y_test = digits
    batch = x[:256], y[:256]
    loss = lambda f: F.cross_entropy(f(batch[0]), batch[1])
    runs = []
    for seed in range(args.seed, args.seed + args.seeds):
        run, curves = {}, {}
        for name, skip in (("residual", True), ("plain", False)):
            torch.manual_seed(seed)
            net = arch.DeepNet(n_blocks, 16, skip=skip)
            curves[name] = smooth(arch.train_classifier(net, x, y, n_iter=steps, lr=0.05, batch=64, seed=seed)[1].loss)
            top, bottom = arch.hessian_extreme_eigenvalues(net, loss, n_iter=args.hessian_iters, seed=seed)
            run[name] = dict(final_loss=curves[name][-1], top_eigenvalue=top, bottom_eigenvalue=bottom,
                             test_accuracy=arch.accuracy(net, x_test, y_test), curve=curves[name][::10])
        reach = next((k + 1 for k, v in enumerate(curves["residual"]) if v <= run["plain"]["final_loss"]), steps)
        run["steps_to_match"] = reach / steps
        runs.append(run)
    median = lambda key, name: statistics.median(r[name][key] for r in runs)
    return dict(layers=2 * n_blocks + 2, steps=steps, runs=runs,
                median_steps_to_match=statistics.median(r["steps_to_match"] for r in runs),
                **{f"{name}_{key}": median(key, name) for name in ("residual", "plain")
                   for key in ("final_loss", "top_eigenvalue", "bottom_eigenvalue", "test_accuracy")})


def without_normalisation(args, n_blocks, steps, digits) -> float:
    torch.manual_seed(args.seed)
    net = arch.DeepNet(n_blocks, 16, skip=False, batchnorm=False)
    return smooth(arch.train_classifier(net, digits[0], digits[1], n_iter=steps, lr=0.05, seed=args.seed)[1].loss)[-1]


def equivariance(args, sizes) -> dict:
    x_test, y_test = arch.rotated_patterns(1000, n_classes=8, noise=0.3, seed=10_000)
    models = {"P4CNN": (lambda: arch.P4CNN(8), False), "CNN": (lambda: arch.PlainCNN(8), False),
              "CNN + rotations": (lambda: arch.PlainCNN(8), True)}
    table = {name: [] for name in models}
    for n in sizes:
        for name, (make, augment) in models.items():
            accuracies = []
            for seed in range(args.seed, args.seed + args.seeds):
                x, y = arch.rotated_patterns(n, n_classes=8, noise=0.3, seed=seed + 1)
                torch.manual_seed(seed)
                model = make()
                arch.train_classifier(model, x, y, n_iter=args.p4_steps, lr=1e-2, seed=seed, optimizer=torch.optim.Adam,
                                      rotate=augment)
                accuracies.append(arch.accuracy(model, x_test, y_test))
            table[name].append(statistics.median(accuracies))
    fewest = {}
    for name in ("CNN", "CNN + rotations"):
        goal = table[name][-1]
        n_p4 = next((n for n, a in zip(sizes, table["P4CNN"]) if a >= goal), None)
        fewest[name] = None if n_p4 is None else n_p4 / sizes[-1]
    parameters = {name: sum(p.numel() for p in make().parameters()) for name, (make, _) in models.items()}
    return dict(sizes=list(sizes), accuracy=table, sample_fraction=fewest, parameters=parameters)


def main(argv=None) -> int:
    args = BenchmarkParser(__doc__, COUNTS, quick=QUICK).parse(argv)
    print(f"Architectural priors, torch {torch.__version__}, threads {torch.get_num_threads()}"
          + (" [--quick]" if args.quick else ""))
    ev = evidence(args)
    print(f"\nevidence: the generating model has the largest evidence in {ev['right']}/{ev['draws']} draws")
    digits = data.digits(seed=args.seed)
    deep = [residual_vs_plain(args, 2 if args.quick else 27, args.steps_56, digits),
            residual_vs_plain(args, 1 if args.quick else 9, args.steps_20, digits)]
    no_norm = without_normalisation(args, 1 if args.quick else 9, args.steps_20, digits)
    print(f"\n{'layers':>6}{'net':>10}{'final loss':>12}{'top eig':>10}{'bottom eig':>12}{'test acc':>10}"
          f"{'steps to match':>16}   (medians over {args.seeds} seeds)")
    for d in deep:
        for name in ("residual", "plain"):
            match = f"{d['median_steps_to_match']:.2f}" if name == "residual" else ""
            print(f"{d['layers']:>6}{name:>10}{d[name + '_final_loss']:>12.4f}{d[name + '_top_eigenvalue']:>10.2f}"
                  f"{d[name + '_bottom_eigenvalue']:>12.3f}{d[name + '_test_accuracy']:>10.3f}{match:>16}")
    print(f"plain {deep[1]['layers']} layers without batch normalisation: final loss {no_norm:.3f} "
          f"(log 10 = {torch.log(torch.tensor(10.0)).item():.3f}: chance)")
    eq = equivariance(args, SIZES[:2] if args.quick else SIZES)
    print(f"\nrotated patterns: test accuracy (median over {args.seeds} seeds) against training samples")
    print(f"{'model':<17}{'weights':>8}" + "".join(f"{n:>7}" for n in eq["sizes"]))
    for name, row in eq["accuracy"].items():
        print(f"{name:<17}{eq['parameters'][name]:>8}" + "".join(f"{a:>7.3f}" for a in row))
    total = time.perf_counter() - START
    fraction = lambda name: eq["sample_fraction"][name]
    targets = [
        target("residual matches the plain network's final training loss in <= 1/3 of the steps (56 layers)",
               deep[0]["median_steps_to_match"], "<=", 1 / 3, "{:.2f} of the steps (median)"),
        target("residual's top Hessian eigenvalue <= plain's (56 layers)",
               deep[0]["residual_top_eigenvalue"] - deep[0]["plain_top_eigenvalue"], "<=", 0.0,
               detail=f"{deep[0]['residual_top_eigenvalue']:.2f} vs {deep[0]['plain_top_eigenvalue']:.2f} (median)"),
        target("the evidence picks the generating model in >= 95 % of the draws", ev["fraction"], ">=", 0.95,
               "{:.0%}"),
        target("P4CNN reaches the CNN's accuracy with <= 1/4 of the samples", fraction("CNN"), "<=", 0.25,
               detail="never" if fraction("CNN") is None else f"{fraction('CNN'):.3g} of the samples"),
        target("P4CNN reaches the rotation-augmented CNN's accuracy with <= 1/4 of the samples",
               fraction("CNN + rotations"), "<=", 0.25,
               detail="never" if fraction("CNN + rotations") is None
               else f"{fraction('CNN + rotations'):.3g} of the samples"),
    ]
    report("architectures", dict(evidence=ev, deep=deep, plain_without_normalisation_loss=no_norm, equivariance=eq),
           targets, total, args.quick, args.json, vars(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
