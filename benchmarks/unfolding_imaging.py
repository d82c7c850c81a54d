r"""Deep unfolding for imaging: unfolded robust PCA against (F)ISTA-RPCA, non-negative unfolded ISTA
against non-negative ISTA on a toy light field, and learned convolutional ISTA against ISTA/FISTA for
super-resolution localisation, with training seconds and inference latency.

Part 1, **unfolded RPCA** (CORONA, ``course_lib.unfolding.UnfoldedRPCA``): videos
``rpca_video(12, (16, 16), rank=2, n_bubbles=5)`` (low-rank tissue + sparse moving bubbles, the data
D their sum). Reported on 16 fixed test videos (seeds distinct from the training and validation
ones), NMSE (dB) of the sparse part S:

* FISTA-RPCA and ISTA-RPCA (``robust_pca`` on the Casorati matrix, accelerate on / off) with 10
  iterations, and FISTA-RPCA with 300, each with the (lam_L, lam_S) of {1, 2, 5} x {0.2, 0.5, 1}
  that is best on 8 validation videos at that iteration count;
* ``UnfoldedRPCA(n_layers=10, lam_low_rank=2, lam_sparse=0.2)`` trained by ``train`` (Adam,
  lr 3e-3, cosine schedule, 200 steps of 2 fresh videos) on the mean over layers of log(MSE of
  the sparse part): NMSE at layers 1, 2, 5, 10, training seconds;
* latency on the 16 test videos (median of 5 runs after a warm-up).

Target: unfolded RPCA-10 >= 6 dB better than FISTA-RPCA-10 (tuned).

Part 2, **non-negative unfolded ISTA** (``NonnegativeUnfoldedISTA``): a toy light-field microscope
``H = MultiChannelConvolution2D(light_field_psfs(5 views, 4 depths, 9x9), (24, 24))``, volumes
``sparse_images((4, 24, 24), p=0.005)``, y = H x (noiseless). The network (5 layers, initialised
at ISTA with lam = 1e-3) is trained on only 16 fixed volumes (150 Adam steps, lr 5e-3, log-loss
over layers). On 100 fixed test volumes the script reports the NMSE (dB) of

* non-negative ISTA (step 1/||H||^2) after 5, 10, 20, 50, 100, 200, 500 iterations, with the
  network's lam = 1e-3, with the lam of {1e-3, 1e-2, 3e-2, 0.1, 0.3, 1} best at 100
  iterations on 50 validation volumes ("tuned"), and with the best lam of that grid for each K;
* the network after each layer (150 Adam steps take about 10 s);
* the first K at which each ISTA row reaches the network's NMSE (the tuned lam is run on, up to
  2000 iterations, until it does), and the latency on the 100 test volumes (median of 5 runs
  after a warm-up; of 3 for ISTA-K) of the network, ISTA-100 and ISTA-K (tuned lam).

Targets: network NMSE <= ISTA-100 NMSE (tuned lam); ISTA-100 latency >= 20x the network's.

Part 3, **learned convolutional ISTA for super-resolution localisation** (``ConvLISTA``): point
emitters ``sparse_images((32, 32), p=0.005)`` (about 5 per image), blurred by a Gaussian PSF
(sigma 1 fine pixel, circular) and averaged over 2x2 blocks, y = A x (noiseless, 16x16 camera).
``ConvLISTA(A, 10 layers, lam=1e-3)`` (polyphase 9x9 coarse filters, initialised at non-negative
ISTA) is trained by ``train`` (Adam, lr 3e-3, cosine, 400 steps of 32 fresh images) on the mean
over layers of log(MSE). On 128 fixed test images: NMSE (dB) of non-negative ISTA and FISTA after
K = 10 ... 1000 iterations, with lam = 1e-3 and with the best lam of {3e-4, 1e-3, 3e-3} for
each K; the network after each layer; the first K at which each solver reaches the network; latency
of the network and of ISTA-100 on the test images.

Target: learned conv. ISTA-10 NMSE <= ISTA-100 NMSE (best lam of the grid at 100).

ISTA and (F)ISTA-RPCA are the library's ``ista`` and ``robust_pca``, which record the objective at
every iteration: their latencies include that bookkeeping (it is a small part of an iteration).

Run (about 4 min on a 2-core CPU, 1 torch thread)::

    .venv/bin/python benchmarks/unfolding_imaging.py             # the full benchmark
    .venv/bin/python benchmarks/unfolding_imaging.py --quick     # smoke test, a few seconds
    .venv/bin/python benchmarks/unfolding_imaging.py --parts rpca --rpca-steps 400

The script always exits 0 once it has run (a FAIL is a finding, not an error).
"""
from __future__ import annotations

import time

START = time.perf_counter()  # "Total" includes the imports

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere in the repo

from course_lib.data import light_field_psfs, rpca_video, sparse_images  # noqa: E402
from course_lib.metrics import nmse_db  # noqa: E402
from course_lib.operators import AveragePooling2D, Convolution2D, MultiChannelConvolution2D, gaussian_kernel  # noqa: E402
from course_lib.solvers import fista, ista, robust_pca  # noqa: E402
from course_lib.training import train  # noqa: E402
from course_lib.unfolding import ConvLISTA, NonnegativeUnfoldedISTA, UnfoldedRPCA  # noqa: E402

PARTS = ("rpca", "lightfield", "superres")
# -- part 1: RPCA
FRAMES, FRAME_SHAPE = 12, (16, 16)
RPCA_GRID = [(lam_L, lam_S) for lam_L in (1.0, 2.0, 5.0) for lam_S in (0.2, 0.5, 1.0)]
RPCA_INIT = (2.0, 0.2)                 # the network starts at ISTA-RPCA with these weights
RPCA_LAYERS_SHOWN = (1, 2, 5, 10)
RPCA_TARGET_DB = 6.0
# -- part 2: light field
VOLUME = (4, 24, 24)
LF_INIT_LAM = 1e-3
LF_GRID = (1e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0)
ISTA_SHOWN = (5, 10, 20, 50, 100, 200, 500)
SPEEDUP_TARGET = 20.0
# -- part 3: super-resolution
SR_FINE, SR_FACTOR, SR_SIGMA, SR_P = (32, 32), 2, 1.0, 0.005
SR_LAM = 1e-3
SR_GRID = (3e-4, 1e-3, 3e-3)
SR_SHOWN = (10, 20, 50, 100, 200, 500, 1000)
SR_REF = 100


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {PARTS}")
    parser.add_argument("--rpca-layers", type=int, default=10, help="layers of unfolded RPCA / (F)ISTA-RPCA iterations")
    parser.add_argument("--rpca-steps", type=int, default=200, help="Adam steps of unfolded RPCA")
    parser.add_argument("--rpca-test", type=int, default=16, help="test videos")
    parser.add_argument("--rpca-val", type=int, default=8, help="validation videos (tuning of FISTA-RPCA)")
    parser.add_argument("--rpca-long", type=int, default=300, help="iterations of the long FISTA-RPCA run")
    parser.add_argument("--lf-layers", type=int, default=5, help="layers of non-negative unfolded ISTA")
    parser.add_argument("--lf-steps", type=int, default=150, help="Adam steps of non-negative unfolded ISTA")
    parser.add_argument("--lf-lam", type=float, default=LF_INIT_LAM, help="lam of the network's initialisation")
    parser.add_argument("--lf-train", type=int, default=16, help="fixed training volumes")
    parser.add_argument("--lf-test", type=int, default=100, help="test volumes")
    parser.add_argument("--lf-val", type=int, default=50, help="validation volumes (tuning of ISTA's lam)")
    parser.add_argument("--ista-ref", type=int, default=100, help="the ISTA iteration count of the target")
    parser.add_argument("--ista-max", type=int, default=500, help="ISTA iterations run per lam")
    parser.add_argument("--ista-reach", type=int, default=2000,
                        help="ISTA (tuned lam) runs up to this many iterations to reach the network's NMSE")
    parser.add_argument("--sr-layers", type=int, default=10, help="layers of learned convolutional ISTA")
    parser.add_argument("--sr-steps", type=int, default=400, help="Adam steps of learned convolutional ISTA")
    parser.add_argument("--sr-test", type=int, default=128, help="test images (super-resolution)")
    parser.add_argument("--sr-iters", type=int, default=1000, help="ISTA/FISTA iterations run per lam")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per latency (median)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 10 steps, 4 test videos, 10 test volumes, ISTA to 50 (target at 20), "
                             "8 test images, ISTA/FISTA to 100")
    args = parser.parse_args(argv)
    if args.quick:
        args.rpca_steps, args.rpca_test, args.rpca_val, args.rpca_long = 10, 4, 2, 30
        args.lf_steps, args.lf_test, args.lf_val = 10, 10, 10
        args.ista_ref, args.ista_max, args.ista_reach = 20, 50, 100
        args.sr_steps, args.sr_test, args.sr_iters = 10, 8, 100
        args.repeats = 2
    args.parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        parser.error(f"--parts: unknown {sorted(unknown)}; choose from {PARTS}")
    if min(args.rpca_layers, args.rpca_steps, args.rpca_test, args.rpca_val, args.rpca_long, args.lf_layers,
           args.lf_steps, args.lf_train, args.lf_test, args.lf_val, args.ista_ref, args.repeats,
           args.sr_layers, args.sr_steps, args.sr_test) < 1:
        parser.error("counts must be >= 1")
    if args.ista_max < args.ista_ref:
        parser.error("--ista-max must be >= --ista-ref")
    if args.sr_iters < SR_REF:
        parser.error(f"--sr-iters must be >= {SR_REF}")
    return args


def latency(fn, repeats: int) -> float:
    """Median wall-clock seconds of fn() over `repeats` runs, after one warm-up run."""
    with torch.no_grad():
        fn()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def log_loss_all_layers(outputs, x):
    return torch.stack([((o - x) ** 2).mean().log() for o in outputs[1:]]).mean()


def first_k(curve, target) -> str:
    k = next((k for k, v in enumerate(curve, start=1) if v <= target), None)
    return f"> {len(curve)}" if k is None else str(k)


def progress(text):
    print(f"  [{text}: done at {time.perf_counter() - START:.0f} s]", file=sys.stderr, flush=True)


# -- part 1: unfolded RPCA -------------------------------------------------------------------
def videos(count, base_seed):
    """`count` videos: seeds base_seed * 1000 + i. Returns (D, L, S), each (count, T, H, W)."""
    pairs = [rpca_video(FRAMES, FRAME_SHAPE, rank=2, n_bubbles=5, seed=base_seed * 1000 + i) for i in range(count)]
    tissue, bubbles = (torch.stack(t) for t in zip(*pairs))
    return tissue + bubbles, tissue, bubbles


def casorati(V):
    return V.reshape(*V.shape[:-2], -1).transpose(-1, -2)        # (..., pixels, frames)


def rpca_nmse(D, S, lams, n_iter, accelerate):
    (_, S_hat), _ = robust_pca(casorati(D), *lams, n_iter=n_iter, accelerate=accelerate)
    return nmse_db(S_hat, casorati(S))


def tuned_rpca(val, test, n_iter, accelerate, repeats):
    lams = min(RPCA_GRID, key=lambda lam: rpca_nmse(val[0], val[2], lam, n_iter, accelerate))
    seconds = latency(lambda: robust_pca(casorati(test[0]), *lams, n_iter=n_iter, accelerate=accelerate), repeats)
    return dict(nmse=rpca_nmse(test[0], test[2], lams, n_iter, accelerate), lams=lams, latency=seconds)


def run_rpca(args) -> dict:
    s = args.seed
    test = videos(args.rpca_test, base_seed=s + 1)        # seeds 1000..; validation 2000..; training >= 10**6
    val = videos(args.rpca_val, base_seed=s + 2)
    T = args.rpca_layers
    rows = {}
    rows[f"FISTA-RPCA-{T}"] = tuned_rpca(val, test, T, True, args.repeats)
    rows[f"ISTA-RPCA-{T}"] = tuned_rpca(val, test, T, False, args.repeats)
    rows[f"FISTA-RPCA-{args.rpca_long}"] = tuned_rpca(val, test, args.rpca_long, True, args.repeats)
    progress("RPCA baselines")

    torch.manual_seed(s)
    net = UnfoldedRPCA(n_layers=T, lam_low_rank=RPCA_INIT[0], lam_sparse=RPCA_INIT[1])

    def sample(g):
        D, _, S = videos(2, base_seed=10**3 + int(torch.randint(10**6, (1,), generator=g)))
        return D, S

    sparse_log_loss = lambda outputs, S: torch.stack([((o[1] - S) ** 2).mean().log() for o in outputs[1:]]).mean()
    with torch.no_grad():
        untrained = nmse_db(net(test[0])[1], test[2])
    history = train(net, sample, n_steps=args.rpca_steps, lr=3e-3, loss_fn=sparse_log_loss, seed=s + 4,
                    predict=lambda m, D: m(D, all_layers=True), progress=False, description="unfolded RPCA")
    with torch.no_grad():
        per_layer = [nmse_db(S_k, test[2]) for _, S_k in net(test[0], all_layers=True)[1:]]
    seconds = latency(lambda: net(test[0]), args.repeats)
    progress("unfolded RPCA")
    return dict(rows=rows, net=dict(curve=per_layer, seconds=history.seconds, latency=seconds,
                                    untrained=untrained, steps=args.rpca_steps))


def print_rpca(result, args) -> None:
    T = args.rpca_layers
    print(f"\nPart 1: unfolded RPCA, videos {FRAMES} x {FRAME_SHAPE[0]}x{FRAME_SHAPE[1]} (rank-2 tissue + 5 bubbles), "
          f"{args.rpca_test} test / {args.rpca_val} validation videos")
    print(f"{'method':<26}{'lam_L':>6}{'lam_S':>6}{'S NMSE dB':>11}{'latency ms':>12}")
    for name, row in result["rows"].items():
        print(f"{name:<26}{row['lams'][0]:>6g}{row['lams'][1]:>6g}{row['nmse']:>11.2f}{1e3 * row['latency']:>12.2f}")
    net = result["net"]
    lat = f"{1e3 * net['latency']:.2f}"
    print(f"{'unfolded RPCA, untrained':<26}{RPCA_INIT[0]:>6g}{RPCA_INIT[1]:>6g}{net['untrained']:>11.2f}{'-':>12}")
    for k in [k for k in RPCA_LAYERS_SHOWN if k <= T]:
        name = f"unfolded RPCA layer {k}"
        print(f"{name:<26}{'':>6}{'':>6}{net['curve'][k - 1]:>11.2f}{lat if k == T else '-':>12}")
    print(f"lam: tuned on the validation videos at that iteration count (FISTA/ISTA-RPCA) / of the initialisation "
          f"(network, trained {net['steps']} steps in {net['seconds']:.1f} s); latency: the {args.rpca_test} test "
          f"videos, median of {args.repeats}")


# -- part 2: light field -----------------------------------------------------------------------
def ista_curve(H, y, x, lam, n_iter, step, stop_at=None):
    """NMSE (dB) of iterates 1..n_iter; with stop_at, stop at the first iterate at or below it."""
    curve = []

    def record(k, xk):
        curve.append(nmse_db(xk, x))
        return stop_at is not None and curve[-1] <= stop_at

    ista(H, y, lam, n_iter=n_iter, step=step, nonnegative=True, callback=record)
    return curve


def run_lightfield(args) -> dict:
    s = args.seed
    H = MultiChannelConvolution2D(light_field_psfs(n_views=5, n_depths=4, size=9), VOLUME[1:])
    step = 1.0 / H.norm() ** 2
    x_train = sparse_images(args.lf_train, VOLUME, p=0.005, seed=s + 10)
    x_test = sparse_images(args.lf_test, VOLUME, p=0.005, seed=s + 11)
    x_val = sparse_images(args.lf_val, VOLUME, p=0.005, seed=s + 12)
    y_test, y_val, y_train = H(x_test), H(x_val), H(x_train)

    curves = {lam: ista_curve(H, y_test, x_test, lam, args.ista_max, step) for lam in LF_GRID}
    if args.lf_lam not in curves:
        curves[args.lf_lam] = ista_curve(H, y_test, x_test, args.lf_lam, args.ista_max, step)
    tuned = min(LF_GRID, key=lambda lam: ista_curve(H, y_val, x_val, lam, args.ista_ref, step)[-1])
    envelope = [min(values) for values in zip(*(curves[lam] for lam in LF_GRID))]
    progress("ISTA runs")

    torch.manual_seed(s)
    net = NonnegativeUnfoldedISTA(H, n_layers=args.lf_layers, lam=args.lf_lam)
    with torch.no_grad():
        untrained = [nmse_db(o, x_test) for o in net(y_test, all_layers=True)[1:]]
    history = train(net, lambda g: (y_train, x_train), n_steps=args.lf_steps, lr=5e-3, loss_fn=log_loss_all_layers,
                    predict=lambda m, y: m(y, all_layers=True), seed=s + 3, progress=False,
                    description="unfolded ISTA")
    with torch.no_grad():
        per_layer = [nmse_db(o, x_test) for o in net(y_test, all_layers=True)[1:]]
    progress("unfolded ISTA")

    target = per_layer[-1]
    k_tuned = first_k(curves[tuned], target)
    if not k_tuned.isdigit() and args.ista_reach > args.ista_max:   # run the tuned lam on until it gets there
        k_tuned = first_k(ista_curve(H, y_test, x_test, tuned, args.ista_reach, step, stop_at=target), target)
    K = int(k_tuned) if k_tuned.isdigit() else args.ista_reach
    progress(f"ISTA to the network's NMSE (K = {k_tuned})")
    lat = dict(net=latency(lambda: net(y_test), args.repeats),
               ref=latency(lambda: ista(H, y_test, tuned, n_iter=args.ista_ref, step=step, nonnegative=True),
                           args.repeats),
               K=latency(lambda: ista(H, y_test, tuned, n_iter=K, step=step, nonnegative=True),
                         min(args.repeats, 3)))
    progress("latencies")
    return dict(curves=curves, tuned=tuned, envelope=envelope, net=per_layer, untrained=untrained,
                seconds=history.seconds, latency=lat, K=K, k_tuned=k_tuned,
                k_init=first_k(curves[args.lf_lam], target), k_env=first_k(envelope, target))


def print_lightfield(r, args) -> None:
    shown = [k for k in ISTA_SHOWN if k <= args.ista_max]
    L = args.lf_layers
    print(f"\nPart 2: non-negative unfolded ISTA, light field 5 views x 4 depths x 24x24 (PSFs 9x9), "
          f"volumes p = 0.005, {args.lf_train} training / {args.lf_test} test / {args.lf_val} validation volumes")
    print(f"{'':<26}{'NMSE dB after K iterations':^{8 * len(shown)}}")
    print(f"{'ISTA (non-negative)':<19}{'lam':>7}" + "".join(f"{k:>8}" for k in shown) + f"{'reach K':>9}")
    rows = [("lam of the network", args.lf_lam, r["curves"][args.lf_lam], r["k_init"]),
            (f"tuned at {args.ista_ref}", r["tuned"], r["curves"][r["tuned"]], r["k_tuned"]),
            ("best lam per K", None, r["envelope"], r["k_env"])]
    for name, lam, curve, k in rows:
        lam_text = "grid" if lam is None else f"{lam:g}"
        print(f"{name:<19}{lam_text:>7}" + "".join(f"{curve[k_ - 1]:>8.2f}" for k_ in shown) + f"{k:>9}")
    print(f"{'network':<19}{'lam':>7}" + "".join(f"{k:>8}" for k in range(1, L + 1)))
    print(f"{'untrained':<19}{args.lf_lam:>7g}" + "".join(f"{v:>8.2f}" for v in r["untrained"]))
    print(f"{'trained':<19}{args.lf_lam:>7g}" + "".join(f"{v:>8.2f}" for v in r["net"])
          + f"   ({args.lf_steps} steps, {r['seconds']:.1f} s)")
    print(f"reach K: first ISTA iteration at or below the network's {r['net'][-1]:.2f} dB (ISTA run to "
          f"{args.ista_max}, the tuned lam on to {args.ista_reach}); lam grid {', '.join(f'{v:g}' for v in LF_GRID)}, "
          "tuned on the validation volumes")
    lat = r["latency"]
    print(f"Latency on the {args.lf_test} test volumes (median of {args.repeats}, ISTA-K of "
          f"{min(args.repeats, 3)}, after a warm-up):")
    print(f"  {f'network ({L} layers)':<30}{1e3 * lat['net']:9.2f} ms")
    ref_name = f"ISTA-{args.ista_ref} (lam {r['tuned']:g})"
    print(f"  {ref_name:<30}{1e3 * lat['ref']:9.2f} ms   {lat['ref'] / lat['net']:6.1f}x the network")
    k_name = f"ISTA-{r['K']} (lam {r['tuned']:g})" + ("" if r["k_tuned"].isdigit() else ", never reached")
    print(f"  {k_name:<30}{1e3 * lat['K']:9.2f} ms   {lat['K'] / lat['net']:6.1f}x the network")


# -- part 3: super-resolution localisation ---------------------------------------------------
def solver_curve(solver, A, y, x, lam, n_iter):
    curve = []
    solver(A, y, lam, n_iter=n_iter, nonnegative=True, callback=lambda k, xk: curve.append(nmse_db(xk, x)))
    return curve


def run_superres(args) -> dict:
    s = args.seed
    A = AveragePooling2D(SR_FINE, SR_FACTOR) @ Convolution2D(gaussian_kernel(SR_SIGMA), SR_FINE)
    x_test = sparse_images(args.sr_test, SR_FINE, p=SR_P, seed=s + 21)
    y_test = A(x_test)
    curves = {name: {lam: solver_curve(solver, A, y_test, x_test, lam, args.sr_iters) for lam in SR_GRID}
              for name, solver in (("ISTA", ista), ("FISTA", fista))}
    envelopes = {name: [min(v) for v in zip(*c.values())] for name, c in curves.items()}
    progress("ISTA/FISTA runs")

    torch.manual_seed(s)
    net = ConvLISTA(A, n_layers=args.sr_layers, lam=SR_LAM)
    with torch.no_grad():
        untrained = [nmse_db(o, x_test) for o in net(y_test, all_layers=True)[1:]]

    def sample(g):
        x = sparse_images(32, SR_FINE, p=SR_P, seed=g)
        return A(x), x

    history = train(net, sample, n_steps=args.sr_steps, lr=3e-3, loss_fn=log_loss_all_layers,
                    predict=lambda m, y: m(y, all_layers=True), seed=s + 7, progress=False,
                    description="learned conv. ISTA")
    with torch.no_grad():
        per_layer = [nmse_db(o, x_test) for o in net(y_test, all_layers=True)[1:]]
    progress("learned convolutional ISTA")
    ref_lam = min(SR_GRID, key=lambda lam: curves["ISTA"][lam][SR_REF - 1])
    lat = dict(net=latency(lambda: net(y_test), args.repeats),
               ref=latency(lambda: ista(A, y_test, ref_lam, n_iter=SR_REF, nonnegative=True), args.repeats))
    progress("latencies")
    return dict(curves=curves, envelopes=envelopes, net=per_layer, untrained=untrained, seconds=history.seconds,
                latency=lat, ref_lam=ref_lam, kernel=net.S.shape[-1])


def print_superres(r, args) -> None:
    shown = [k for k in SR_SHOWN if k <= args.sr_iters]
    L = args.sr_layers
    print(f"\nPart 3: learned convolutional ISTA, super-resolution x{SR_FACTOR}: {SR_FINE[0]}x{SR_FINE[1]} emitters "
          f"(p = {SR_P}), Gaussian PSF sigma {SR_SIGMA:g}, {SR_FINE[0] // SR_FACTOR}x{SR_FINE[1] // SR_FACTOR} camera, "
          f"{args.sr_test} test images")
    print(f"{'':<26}{'NMSE dB after K iterations':^{8 * len(shown)}}")
    print(f"{'solver (non-negative)':<19}{'lam':>7}" + "".join(f"{k:>8}" for k in shown) + f"{'reach K':>9}")
    target = r["net"][-1]
    for name in ("ISTA", "FISTA"):
        rows = [(f"{name}", SR_LAM, r["curves"][name][SR_LAM]), (f"{name}, best per K", None, r["envelopes"][name])]
        for label, lam, curve in rows:
            lam_text = "grid" if lam is None else f"{lam:g}"
            print(f"{label:<19}{lam_text:>7}" + "".join(f"{curve[k - 1]:>8.2f}" for k in shown)
                  + f"{first_k(curve, target):>9}")
    print(f"{'network':<19}{'lam':>7}" + "".join(f"{k:>8}" for k in range(1, L + 1)))
    print(f"{'learned, untrained':<19}{SR_LAM:>7g}" + "".join(f"{v:>8.2f}" for v in r["untrained"]))
    print(f"{'learned, trained':<19}{SR_LAM:>7g}" + "".join(f"{v:>8.2f}" for v in r["net"])
          + f"   ({args.sr_steps} steps, {r['seconds']:.1f} s, filters {r['kernel']}x{r['kernel']} coarse pixels)")
    print(f"reach K: first iteration at or below the network's {target:.2f} dB (run to {args.sr_iters}); "
          f"lam grid {', '.join(f'{v:g}' for v in SR_GRID)}")
    lat = r["latency"]
    print(f"Latency on the {args.sr_test} test images (median of {args.repeats}, after a warm-up):")
    print(f"  {f'network ({L} layers)':<30}{1e3 * lat['net']:9.2f} ms")
    ref_name = f"ISTA-{SR_REF} (lam {r['ref_lam']:g})"
    print(f"  {ref_name:<30}{1e3 * lat['ref']:9.2f} ms   {lat['ref'] / lat['net']:6.1f}x the network")


# -- targets ------------------------------------------------------------------------------------
def targets(results, args) -> list:
    """(description, measured value or None when not run, check, format)."""
    T, L, ref = args.rpca_layers, args.lf_layers, args.ista_ref
    gain = nmse = ratio = sr = None
    if "rpca" in results:
        r = results["rpca"]
        gain = r["rows"][f"FISTA-RPCA-{T}"]["nmse"] - r["net"]["curve"][-1]
    if "lightfield" in results:
        r = results["lightfield"]
        nmse = r["net"][-1] - r["curves"][r["tuned"]][ref - 1]
        ratio = r["latency"]["ref"] / r["latency"]["net"]
    if "superres" in results:
        r = results["superres"]
        sr = r["net"][-1] - r["envelopes"]["ISTA"][SR_REF - 1]
    return [
        (f"Unfolded RPCA-{T} >= {RPCA_TARGET_DB:g} dB better than FISTA-RPCA-{T} (tuned), sparse part", gain,
         lambda v: v >= RPCA_TARGET_DB, "{:.2f} dB better"),
        (f"Unfolded ISTA-{L} NMSE <= ISTA-{ref} NMSE (tuned lam)", nmse, lambda v: v <= 0, "{:+.2f} dB vs ISTA"),
        (f"ISTA-{ref} latency >= {SPEEDUP_TARGET:g}x unfolded ISTA-{L}", ratio, lambda v: v >= SPEEDUP_TARGET,
         "{:.1f}x"),
        (f"Learned conv. ISTA-{args.sr_layers} NMSE <= ISTA-{SR_REF} NMSE (best lam)", sr, lambda v: v <= 0,
         "{:+.2f} dB vs ISTA"),
    ]


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"Deep unfolding for imaging: unfolded RPCA, non-negative unfolded ISTA, learned convolutional ISTA, float32, device cpu, "
          f"torch {torch.__version__}, threads {torch.get_num_threads()}" + (" [--quick]" if args.quick else ""))
    results = {}
    if "rpca" in args.parts:
        results["rpca"] = run_rpca(args)
        print_rpca(results["rpca"], args)
    if "lightfield" in args.parts:
        results["lightfield"] = run_lightfield(args)
        print_lightfield(results["lightfield"], args)
    if "superres" in args.parts:
        results["superres"] = run_superres(args)
        print_superres(results["superres"], args)
    print("\nTargets:")
    verdicts = []
    for text, value, check, fmt in targets(results, args):
        if value is None:
            print(f"{text}: n/a (not run)")
            continue
        verdicts.append(check(value))
        print(f"{text}: {'PASS' if verdicts[-1] else 'FAIL'} ({fmt.format(value)})")
    total = time.perf_counter() - START
    print(f"\nTotal: {total:.1f} s")
    verdict = "n/a" if not verdicts else ("PASS" if all(verdicts) else "FAIL")
    print(f"VERDICT: {verdict}: {sum(verdicts)}/{len(verdicts)} targets met, total {total:.1f} s"
          + (" [--quick: tiny training and sets, these numbers are not the benchmark]" if args.quick else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
