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
* latency on the 16 test videos of the three baselines and the network, timed interleaved (below).

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
  2000 iterations, until it does), and the latency on the 100 test volumes of the network,
  ISTA-100 and ISTA-K (tuned lam), timed interleaved (below).

Targets: network NMSE <= ISTA-100 NMSE (tuned lam); ISTA-100 latency >= 20x the network's.

Part 3, **learned convolutional ISTA for super-resolution localisation** (``ConvLISTA``): point
emitters ``sparse_images((32, 32), p=0.005)`` (about 5 per image), blurred by a Gaussian PSF
(sigma 1 fine pixel, circular) and averaged over 2x2 blocks, y = A x (noiseless, 16x16 camera).
``ConvLISTA(A, 10 layers, NonnegativeL1(1e-3))`` (polyphase 9x9 coarse filters, initialised at non-negative
ISTA) is trained by ``train`` (Adam, lr 3e-3, cosine, 400 steps of 32 fresh images) on the mean
over layers of log(MSE). On 128 fixed test images: NMSE (dB) of non-negative ISTA and FISTA after
K = 10 ... 1000 iterations, with lam = 1e-3 and with the best lam of {3e-4, 1e-3, 3e-3} for
each K; the network after each layer; the first K at which each solver reaches the network; latency
of the network and of ISTA-100 on the test images, timed interleaved.

Target: learned conv. ISTA-10 NMSE <= ISTA-100 NMSE (best lam of the grid at 100).

Latencies: the methods of a part are timed interleaved (``_common.interleaved_timings``): after a
warm-up call of each, ``--repeats`` rounds (7) in which each is called once, in an order rotated from
round to round; printed are the median over the rounds with the interquartile range (IQR), and
"x the network": per round, a method's time over the network's time of the same round, median and IQR.
The latency target is met or not by that median; its detail says whether the whole IQR clears 20x.
Training seconds are those of one training run (not repeated). glibc's allocator is kept from returning
freed memory to the kernel (``_common.steady_allocator``), whose page faults otherwise slowed some processes
and not others.
ISTA and (F)ISTA-RPCA are the library's ``ista`` and ``robust_pca``, which record the objective at
every iteration: their latencies include that bookkeeping (it is a small part of an iteration).

Run (about 4-5 min on a 2-core CPU, 1 torch thread)::

    .venv/bin/python benchmarks/unfolding_imaging.py             # the full benchmark
    .venv/bin/python benchmarks/unfolding_imaging.py --quick     # smoke test, a few seconds
    .venv/bin/python benchmarks/unfolding_imaging.py --parts rpca --rpca-steps 400

The script always exits 0 once it has run (a FAIL is a finding, not an error).
The figures, the targets and the verdict are also written as JSON, to benchmarks/results/unfolding_imaging.json
(unfolding_imaging-quick.json with --quick) or to ``--json PATH`` (see benchmarks/README.md).
"""
from __future__ import annotations

import time

START = time.perf_counter()  # "Total" includes the imports

import sys

import torch
from _common import (
    first_k,
    interleaved_timings,
    k_text,
    nmse_curve,
    progress,
    scaled,
    spread,
    spread_against,
    steady_allocator,
    with_spread,
)
from _report import BenchmarkParser, report, target  # (importing _report puts the repository on sys.path)

import course_lib as cl
from course_lib.data import light_field_psfs, rpca_video, sparse_images
from course_lib.metrics import nmse_db
from course_lib.operators import AveragePooling2D, Convolution2D, MultiChannelConvolution2D, gaussian_kernel
from course_lib.solvers import casorati, fista, ista, robust_pca
from course_lib.training import train
from course_lib.unfolding import (
    ConvLISTA,
    NonnegativeUnfoldedISTA,
    UnfoldedRPCA,
    all_layer_log_loss,
    every_layer,
    layer_nmse_db,
)

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
# count options: name, default, --quick value ('-': unchanged), help
COUNTS = """
rpca-layers   10     -    layers of unfolded RPCA / (F)ISTA-RPCA iterations
rpca-steps    200    10   Adam steps of unfolded RPCA
rpca-test     16     4    test videos
rpca-val      8      2    validation videos (tuning of FISTA-RPCA)
rpca-long     300    30   iterations of the long FISTA-RPCA run
lf-layers     5      -    layers of non-negative unfolded ISTA
lf-steps      150    10   Adam steps of non-negative unfolded ISTA
lf-train      16     -    fixed training volumes
lf-test       100    10   test volumes
lf-val        50     10   validation volumes (tuning of ISTA's lam)
ista-ref      100    20   the ISTA iteration count of the target
ista-max      500    50   ISTA iterations run per lam
ista-reach    2000   100  ISTA (tuned lam) runs up to this many iterations to reach the network's NMSE
sr-layers     10     -    layers of learned convolutional ISTA
sr-steps      400    10   Adam steps of learned convolutional ISTA
sr-test       128    8    test images (super-resolution)
sr-iters      1000   100  ISTA/FISTA iterations run per lam
repeats       7      2    interleaved timing rounds of the latencies (median and IQR)
"""


def parse_args(argv=None):
    parser = BenchmarkParser(__doc__, COUNTS)
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {PARTS}")
    parser.add_argument("--lf-lam", type=float, default=LF_INIT_LAM, help="lam of the network's initialisation")
    args = parser.parse(argv)
    args.parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        parser.error(f"--parts: unknown {sorted(unknown)}; choose from {PARTS}")
    if args.ista_max < args.ista_ref:
        parser.error("--ista-max must be >= --ista-ref")
    if args.sr_iters < SR_REF:
        parser.error(f"--sr-iters must be >= {SR_REF}")
    return args


# -- part 1: unfolded RPCA -------------------------------------------------------------------
def videos(count, base_seed):
    """`count` videos: seeds base_seed * 1000 + i. Returns (D, L, S), each (count, T, H, W)."""
    pairs = [rpca_video(FRAMES, FRAME_SHAPE, rank=2, n_bubbles=5, seed=base_seed * 1000 + i) for i in range(count)]
    tissue, bubbles = (torch.stack(t) for t in zip(*pairs))
    return tissue + bubbles, tissue, bubbles


def rpca_nmse(D, S, lams, n_iter, accelerate):
    (_, S_hat), _ = robust_pca(casorati(D), *lams, n_iter=n_iter, accelerate=accelerate)
    return nmse_db(S_hat, casorati(S))


def tuned_rpca(val, test, n_iter, accelerate):
    """The (lam_L, lam_S) of the grid best on the validation videos, the test NMSE, and the run to time (``solve``)."""
    lams = min(RPCA_GRID, key=lambda lam: rpca_nmse(val[0], val[2], lam, n_iter, accelerate))
    solve = lambda: robust_pca(casorati(test[0]), *lams, n_iter=n_iter, accelerate=accelerate)
    return dict(nmse=rpca_nmse(test[0], test[2], lams, n_iter, accelerate), lams=lams, solve=solve)


def latencies(fns: dict, repeats: int) -> dict:
    """Seconds of each fn (the network first) timed interleaved, and per round its ratio to the network's seconds:
    {name: (seconds summary, ratio summary)}."""
    timings = interleaved_timings(fns, repeats, reference=next(iter(fns)))
    return {name: (timings["seconds"][name], timings["ratio"][name]) for name in fns}


def run_rpca(args) -> dict:
    s = args.seed
    test = videos(args.rpca_test, base_seed=s + 1)        # seeds 1000..; validation 2000..; training >= 10**6
    val = videos(args.rpca_val, base_seed=s + 2)
    T = args.rpca_layers
    rows = {}
    rows[f"FISTA-RPCA-{T}"] = tuned_rpca(val, test, T, True)
    rows[f"ISTA-RPCA-{T}"] = tuned_rpca(val, test, T, False)
    rows[f"FISTA-RPCA-{args.rpca_long}"] = tuned_rpca(val, test, args.rpca_long, True)
    progress("RPCA baselines", START)

    torch.manual_seed(s)
    net = UnfoldedRPCA(n_layers=T, lam_low_rank=RPCA_INIT[0], lam_sparse=RPCA_INIT[1])

    def sample(g):
        D, _, S = videos(2, base_seed=10**3 + int(torch.randint(10**6, (1,), generator=g)))
        return D, S

    sparse_parts = lambda m, D: [S_k for _, S_k in m(D, all_layers=True)]    # the loss is on the sparse part
    with torch.no_grad():
        untrained = nmse_db(net(test[0])[1], test[2])
    net, history = train(net, sample, n_iter=args.rpca_steps, lr=3e-3, loss_fn=all_layer_log_loss, seed=s + 4,
                         predict=sparse_parts, progress=False, description="unfolded RPCA")
    with torch.no_grad():
        per_layer = layer_nmse_db(sparse_parts(net, test[0]), test[2])
    progress("unfolded RPCA", START)
    lat = latencies({"network": lambda: net(test[0]), **{name: row.pop("solve") for name, row in rows.items()}},
                    args.repeats)
    for name, row in rows.items():
        row["latency"] = lat[name]
    progress("latencies", START)
    return dict(rows=rows, net=dict(curve=per_layer, seconds=history.seconds, latency=lat["network"],
                                    untrained=untrained, steps=args.rpca_steps))


def print_rpca(result, args) -> None:
    T = args.rpca_layers
    print(f"\nPart 1: unfolded RPCA, videos {FRAMES} x {FRAME_SHAPE[0]}x{FRAME_SHAPE[1]} (rank-2 tissue + 5 bubbles), "
          f"{args.rpca_test} test / {args.rpca_val} validation videos")
    print(f"{'method':<26}{'lam_L':>6}{'lam_S':>6}{'S NMSE dB':>11}{'latency ms (IQR)':>27}{'x network (IQR)':>20}")
    for name, row in result["rows"].items():
        print(f"{name:<26}{row['lams'][0]:>6g}{row['lams'][1]:>6g}{row['nmse']:>11.2f}{latency_cells(row['latency'])}")
    net = result["net"]
    print(f"{'unfolded RPCA, untrained':<26}{RPCA_INIT[0]:>6g}{RPCA_INIT[1]:>6g}{net['untrained']:>11.2f}{'-':>27}")
    for k in [k for k in RPCA_LAYERS_SHOWN if k <= T]:
        name = f"unfolded RPCA layer {k}"
        cells = latency_cells(net["latency"], ratio=False) if k == T else f"{'-':>27}"
        print(f"{name:<26}{'':>6}{'':>6}{net['curve'][k - 1]:>11.2f}{cells}")
    print(f"lam: tuned on the validation videos at that iteration count (FISTA/ISTA-RPCA) / of the initialisation "
          f"(network, trained {net['steps']} steps in {net['seconds']:.1f} s, one run); latency: the {args.rpca_test} "
          f"test videos, median and IQR of {args.repeats} interleaved rounds; "
          "x network: per round, over the network's time")


def latency_cells(latency, ratio=True) -> str:
    """The latency (ms) and, with ``ratio``, the multiple of the network's, as medians with their IQR."""
    ms, times = scaled(latency[0], 1e3), latency[1]
    cells = f"{ms['median']:>11.2f} ({ms['q1']:.2f}-{ms['q3']:.2f})".rjust(27)
    return cells + (f"{times['median']:>8.2f} ({times['q1']:.2f}-{times['q3']:.2f})".rjust(20) if ratio else "")


# -- part 2: light field -----------------------------------------------------------------------
def ista_curve(H, y, x, lam, n_iter, step, stop_at=None):
    """NMSE (dB) of non-negative ISTA's iterates 1..n_iter; with stop_at, stop at the first iterate at or below it."""
    stop = None if stop_at is None else (lambda curve: curve[-1] <= stop_at)
    return nmse_curve(ista, H, y, x, cl.NonnegativeL1(lam), n_iter, step, stop)


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
    progress("ISTA runs", START)

    torch.manual_seed(s)
    net = NonnegativeUnfoldedISTA(H, n_layers=args.lf_layers, regulariser=args.lf_lam)
    with torch.no_grad():
        untrained = layer_nmse_db(every_layer(net, y_test), x_test)
    net, history = train(net, lambda g: (y_train, x_train), n_iter=args.lf_steps, lr=5e-3, loss_fn=all_layer_log_loss,
                         predict=every_layer, seed=s + 3, progress=False, description="unfolded ISTA")
    with torch.no_grad():
        per_layer = layer_nmse_db(every_layer(net, y_test), x_test)
    progress("unfolded ISTA", START)

    target = per_layer[-1]
    reach = dict(init=first_k(curves[args.lf_lam], target), tuned=first_k(curves[tuned], target),
                 envelope=first_k(envelope, target))
    limits = dict(init=args.ista_max, tuned=args.ista_max, envelope=args.ista_max)
    if reach["tuned"] is None and args.ista_reach > args.ista_max:   # run the tuned lam on until it gets there
        reach["tuned"] = first_k(ista_curve(H, y_test, x_test, tuned, args.ista_reach, step, stop_at=target), target)
        limits["tuned"] = args.ista_reach
    K = reach["tuned"] or args.ista_reach
    progress(f"ISTA to the network's NMSE (K = {k_text(reach['tuned'], limits['tuned'])})", START)
    solve = lambda n_iter: ista(H, y_test, cl.NonnegativeL1(tuned), n_iter=n_iter, step=step)
    lat = latencies(dict(net=lambda: net(y_test), ref=lambda: solve(args.ista_ref), K=lambda: solve(K)), args.repeats)
    progress("latencies", START)
    return dict(curves=curves, tuned=tuned, envelope=envelope, net=per_layer, untrained=untrained,
                seconds=history.seconds, latency=lat, K=K, reach=reach, limits=limits)


def print_solver_table(heading, shown, rows) -> None:
    """NMSE (dB) after K iterations: rows of (label, lam or None for the best of the grid, curve, reach K text)."""
    print(f"{'':<26}{'NMSE dB after K iterations':^{8 * len(shown)}}")
    print(f"{heading:<19}{'lam':>7}" + "".join(f"{k:>8}" for k in shown) + f"{'reach K':>9}")
    for label, lam, curve, reach in rows:
        lam_text = "grid" if lam is None else f"{lam:g}"
        print(f"{label:<19}{lam_text:>7}" + "".join(f"{curve[k - 1]:>8.2f}" for k in shown) + f"{reach:>9}")


def print_network_rows(labels, lam, untrained, trained, note) -> None:
    """The network's NMSE (dB) after each layer, untrained and trained (``note`` after the trained row)."""
    print(f"{'network':<19}{'lam':>7}" + "".join(f"{k:>8}" for k in range(1, len(trained) + 1)))
    for label, curve, tail in ((labels[0], untrained, ""), (labels[1], trained, f"   ({note})")):
        print(f"{label:<19}{lam:>7g}" + "".join(f"{v:>8.2f}" for v in curve) + tail)


def print_latencies(heading, rows) -> None:
    """``heading``, then (name, (seconds, ratio)) rows (:func:`latencies`): the network first, the others also as a
    multiple of it (per round, medians with their IQR)."""
    print(heading)
    for i, (name, (seconds, ratio)) in enumerate(rows):
        ms = scaled(seconds, 1e3)
        times = "" if i == 0 else f"   {ratio['median']:6.1f}x the network (IQR {ratio['q1']:.1f}-{ratio['q3']:.1f})"
        print(f"  {name:<30}{ms['median']:9.2f} ms (IQR {ms['q1']:.2f}-{ms['q3']:.2f}){times}")


def print_lightfield(r, args) -> None:
    shown = [k for k in ISTA_SHOWN if k <= args.ista_max]
    reach = {key: k_text(k, r["limits"][key]) for key, k in r["reach"].items()}
    print(f"\nPart 2: non-negative unfolded ISTA, light field 5 views x 4 depths x 24x24 (PSFs 9x9), "
          f"volumes p = 0.005, {args.lf_train} training / {args.lf_test} test / {args.lf_val} validation volumes")
    print_solver_table("ISTA (non-negative)", shown, [
        ("lam of the network", args.lf_lam, r["curves"][args.lf_lam], reach["init"]),
        (f"tuned at {args.ista_ref}", r["tuned"], r["curves"][r["tuned"]], reach["tuned"]),
        ("best lam per K", None, r["envelope"], reach["envelope"])])
    print_network_rows(("untrained", "trained"), args.lf_lam, r["untrained"], r["net"],
                       f"{args.lf_steps} steps, {r['seconds']:.1f} s, one run")
    print(f"reach K: first ISTA iteration at or below the network's {r['net'][-1]:.2f} dB (ISTA run to "
          f"{args.ista_max}, the tuned lam on to {args.ista_reach}); lam grid {', '.join(f'{v:g}' for v in LF_GRID)}, "
          "tuned on the validation volumes")
    lat = r["latency"]
    print_latencies(f"Latency on the {args.lf_test} test volumes ({args.repeats} interleaved rounds after a warm-up; "
                    "median and IQR; x the network: per round):", [
                        (f"network ({args.lf_layers} layers)", lat["net"]),
                        (f"ISTA-{args.ista_ref} (lam {r['tuned']:g})", lat["ref"]),
                        (f"ISTA-{r['K']} (lam {r['tuned']:g})" + ("" if r["reach"]["tuned"] else ", never reached"),
                         lat["K"])])


# -- part 3: super-resolution localisation ---------------------------------------------------
def run_superres(args) -> dict:
    s = args.seed
    A = AveragePooling2D(SR_FINE, SR_FACTOR) @ Convolution2D(gaussian_kernel(SR_SIGMA), SR_FINE)
    x_test = sparse_images(args.sr_test, SR_FINE, p=SR_P, seed=s + 21)
    y_test = A(x_test)
    curves = {name: {lam: nmse_curve(solver, A, y_test, x_test, cl.NonnegativeL1(lam), args.sr_iters)
                     for lam in SR_GRID}
              for name, solver in (("ISTA", ista), ("FISTA", fista))}
    envelopes = {name: [min(v) for v in zip(*c.values())] for name, c in curves.items()}
    progress("ISTA/FISTA runs", START)

    torch.manual_seed(s)
    net = ConvLISTA(A, n_layers=args.sr_layers, regulariser=cl.NonnegativeL1(SR_LAM))
    with torch.no_grad():
        untrained = layer_nmse_db(every_layer(net, y_test), x_test)

    def sample(g):
        x = sparse_images(32, SR_FINE, p=SR_P, seed=g)
        return A(x), x

    net, history = train(net, sample, n_iter=args.sr_steps, lr=3e-3, loss_fn=all_layer_log_loss, predict=every_layer,
                         seed=s + 7, progress=False, description="learned conv. ISTA")
    with torch.no_grad():
        per_layer = layer_nmse_db(every_layer(net, y_test), x_test)
    progress("learned convolutional ISTA", START)
    ref_lam = min(SR_GRID, key=lambda lam: curves["ISTA"][lam][SR_REF - 1])
    lat = latencies(dict(net=lambda: net(y_test),
                         ref=lambda: ista(A, y_test, cl.NonnegativeL1(ref_lam), n_iter=SR_REF)), args.repeats)
    progress("latencies", START)
    return dict(curves=curves, envelopes=envelopes, net=per_layer, untrained=untrained, seconds=history.seconds,
                latency=lat, ref_lam=ref_lam, kernel=net.S.shape[-1])


def superres_rows(r) -> list:
    """(label, lam or None, curve) of the table of part 3."""
    return [row for name in ("ISTA", "FISTA")
            for row in ((name, SR_LAM, r["curves"][name][SR_LAM]), (f"{name}, best per K", None, r["envelopes"][name]))]


def print_superres(r, args) -> None:
    shown = [k for k in SR_SHOWN if k <= args.sr_iters]
    print(f"\nPart 3: learned convolutional ISTA, super-resolution x{SR_FACTOR}: {SR_FINE[0]}x{SR_FINE[1]} emitters "
          f"(p = {SR_P}), Gaussian PSF sigma {SR_SIGMA:g}, {SR_FINE[0] // SR_FACTOR}x{SR_FINE[1] // SR_FACTOR} camera, "
          f"{args.sr_test} test images")
    target = r["net"][-1]
    print_solver_table("solver (non-negative)", shown, [
        (label, lam, curve, k_text(first_k(curve, target), args.sr_iters)) for label, lam, curve in superres_rows(r)])
    print_network_rows(("learned, untrained", "learned, trained"), SR_LAM, r["untrained"], r["net"],
                       f"{args.sr_steps} steps, {r['seconds']:.1f} s, one run, "
                       f"filters {r['kernel']}x{r['kernel']} coarse pixels")
    print(f"reach K: first iteration at or below the network's {target:.2f} dB (run to {args.sr_iters}); "
          f"lam grid {', '.join(f'{v:g}' for v in SR_GRID)}")
    lat = r["latency"]
    print_latencies(f"Latency on the {args.sr_test} test images ({args.repeats} interleaved rounds after a warm-up; "
                    "median and IQR; x the network: per round):", [
        (f"network ({args.sr_layers} layers)", lat["net"]), (f"ISTA-{SR_REF} (lam {r['ref_lam']:g})", lat["ref"])])


# -- report -------------------------------------------------------------------------------------
def at(curve, shown) -> dict:
    """The NMSE after the K iterations of ``shown`` (the columns of a table)."""
    return {k: curve[k - 1] for k in shown}


def network_figures(curve, untrained, seconds, steps, lam=None) -> dict:
    return dict(lam=lam, untrained_nmse_db=untrained, nmse_db=curve, train_seconds=seconds, steps=steps)


def latency_figures(latency: dict) -> dict:
    """The JSON latency figures of {name: (seconds, ratio)} (:func:`latencies`): medians in ``latency_ms`` and
    ``times_network`` (per round, over the network's seconds), their spreads beside them."""
    return dict(latency_ms={name: 1e3 * t[0]["median"] for name, t in latency.items()},
                latency_ms_spread={name: spread(scaled(t[0], 1e3)) for name, t in latency.items()},
                times_network={name: t[1]["median"] for name, t in latency.items()},
                times_network_spread={name: spread(t[1]) for name, t in latency.items()})


def one_latency(latency) -> dict:
    """The JSON latency figures of one row: ``latency_ms`` (median), ``times_network`` (median), their spreads."""
    return {key: value["row"] for key, value in latency_figures({"row": latency}).items()}


def figures(results, args) -> dict:
    """The JSON figures of the parts that ran: NMSE in dB (per layer: item k-1 is layer k; solvers: after the K
    of the table), reach K (None: not within the limit), latencies in ms (medians of interleaved rounds, their
    spreads in ``*_spread``: quartiles q1, q3, min, max, rounds n), training seconds (one run)."""
    out = {}
    if "rpca" in results:
        r = results["rpca"]
        out["rpca"] = dict(
            test=args.rpca_test, val=args.rpca_val,
            methods={name: dict(lam_L=row["lams"][0], lam_S=row["lams"][1], nmse_db=row["nmse"],
                                **one_latency(row["latency"])) for name, row in r["rows"].items()},
            network=dict(network_figures(r["net"]["curve"], r["net"]["untrained"], r["net"]["seconds"],
                                         r["net"]["steps"], RPCA_INIT), **one_latency(r["net"]["latency"])))
    if "lightfield" in results:
        r = results["lightfield"]
        shown = [k for k in ISTA_SHOWN if k <= args.ista_max]
        rows = {"lam of the network": (args.lf_lam, r["curves"][args.lf_lam], "init"),
                f"tuned at {args.ista_ref}": (r["tuned"], r["curves"][r["tuned"]], "tuned"),
                "best lam per K": (None, r["envelope"], "envelope")}
        out["lightfield"] = dict(
            test=args.lf_test, train=args.lf_train, val=args.lf_val, tuned_lam=r["tuned"],
            ista={name: dict(lam=lam, nmse_db=at(curve, shown), reach_k=r["reach"][key], reach_limit=r["limits"][key])
                  for name, (lam, curve, key) in rows.items()},
            network=network_figures(r["net"], r["untrained"], r["seconds"], args.lf_steps, args.lf_lam),
            **latency_figures({"network": r["latency"]["net"], f"ISTA-{args.ista_ref}": r["latency"]["ref"],
                               "ISTA-K": r["latency"]["K"]}), K=r["K"])
    if "superres" in results:
        r = results["superres"]
        shown = [k for k in SR_SHOWN if k <= args.sr_iters]
        target = r["net"][-1]
        out["superres"] = dict(
            test=args.sr_test, ref_lam=r["ref_lam"], kernel=r["kernel"],
            solvers={label: dict(lam=lam, nmse_db=at(curve, shown), reach_k=first_k(curve, target),
                                 reach_limit=args.sr_iters) for label, lam, curve in superres_rows(r)},
            network=network_figures(r["net"], r["untrained"], r["seconds"], args.sr_steps, SR_LAM),
            **latency_figures({"network": r["latency"]["net"], f"ISTA-{SR_REF}": r["latency"]["ref"]}))
    return out


def targets(results, args) -> list:
    """The four targets; a value is None when its part was not run."""
    T, L, ref = args.rpca_layers, args.lf_layers, args.ista_ref
    gain = nmse = ratio = sr = None
    if "rpca" in results:
        r = results["rpca"]
        gain = r["rows"][f"FISTA-RPCA-{T}"]["nmse"] - r["net"]["curve"][-1]
    if "lightfield" in results:
        r = results["lightfield"]
        nmse = r["net"][-1] - r["curves"][r["tuned"]][ref - 1]
        ratio = r["latency"]["ref"][1]
    if "superres" in results:
        r = results["superres"]
        sr = r["net"][-1] - r["envelopes"]["ISTA"][SR_REF - 1]
    return [
        target(f"Unfolded RPCA-{T} >= {RPCA_TARGET_DB:g} dB better than FISTA-RPCA-{T} (tuned), sparse part", gain,
               ">=", RPCA_TARGET_DB, "{:.2f} dB better"),
        target(f"Unfolded ISTA-{L} NMSE <= ISTA-{ref} NMSE (tuned lam)", nmse, "<=", 0, "{:+.2f} dB vs ISTA"),
        target(f"ISTA-{ref} latency >= {SPEEDUP_TARGET:g}x unfolded ISTA-{L}",
               None if ratio is None else ratio["median"], ">=", SPEEDUP_TARGET, detail=None if ratio is None else
               f"{with_spread(ratio, '{:.1f}', 'x')}; {spread_against(ratio, '>=', SPEEDUP_TARGET)}"),
        target(f"Learned conv. ISTA-{args.sr_layers} NMSE <= ISTA-{SR_REF} NMSE (best lam)", sr, "<=", 0,
               "{:+.2f} dB vs ISTA"),
    ]


def main(argv=None) -> int:
    args = parse_args(argv)
    steady_allocator()
    print("Deep unfolding for imaging: unfolded RPCA, non-negative unfolded ISTA, learned convolutional ISTA, "
          f"float32, device cpu, torch {torch.__version__}, threads {torch.get_num_threads()}"
          + (" [--quick]" if args.quick else ""))
    results = {}
    for part, run, show in (("rpca", run_rpca, print_rpca), ("lightfield", run_lightfield, print_lightfield),
                            ("superres", run_superres, print_superres)):
        if part in args.parts:
            results[part] = run(args)
            show(results[part], args)
    report("unfolding_imaging", figures(results, args), targets(results, args), time.perf_counter() - START,
           args.quick, args.json, vars(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
