"""The targets block shared by the benchmark scripts: one PASS/FAIL line per target, then the verdict."""


def print_targets(targets, total: float, quick: bool) -> None:
    """``targets``: (description, met, detail) triples; ``total``: the script's seconds."""
    print("\nTargets:")
    for text, ok, detail in targets:
        print(f"{text}: {'PASS' if ok else 'FAIL'} ({detail})")
    met = sum(ok for _, ok, _ in targets)
    print(f"\nVERDICT: {'PASS' if met == len(targets) else 'FAIL'}: {met}/{len(targets)} targets met, total {total:.1f} s"
          + (" [--quick: these numbers are not the benchmark]" if quick else ""))
