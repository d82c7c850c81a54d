"""The course as a static website and as slides, both readable offline.

``build_site(out)`` writes

* ``index.html``: the course's start page (``index.ipynb``), its links pointing into the site;
* ``lectures/NN_name.html``: each lecture with its stored outputs (figures embedded);
* ``slides/NN_name.slides.html``: each lecture as reveal.js slides (one slide per section, from the
  cells' slideshow metadata; ``s`` opens the speaker notes, ``f`` full screen);
* ``exercises/NN_name.ipynb``: the exercise notebooks, to download;
* ``static/``: local copies of MathJax (from ``jupyter-server-mathjax``) and reveal.js (from
  ``pyreveal``). Nothing is fetched at view time: :func:`external_references` finds any script,
  style or image that would be, and the build fails if there is one.

Interactive widgets (sliders) need a live kernel: the pages show the static figure stored
before each of them. From the command line (also ``python course.py site``)::

    python -m course_lib.tools.site [--root DIR] [--out DIR/site]

``--root`` is the course folder (default: the current folder).
"""
from __future__ import annotations

import argparse
import copy
import re
import shutil
import sys
from pathlib import Path

import nbformat

from .cli import add_site_arguments

TEMPLATES = Path(__file__).with_name("templates")   # the package's own nbconvert templates
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
MARKER = ".course-site"
# an attribute that makes the browser fetch something: <script src>, <link href>, <img src>, <iframe src>, ...
_FETCHING = re.compile(r"<(script|link|img|iframe|source|audio|video|embed)\b[^>]*?\b(src|href)"
                       r"\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"(@import\s+|url\(\s*)[\"']?(https?:)?//", re.IGNORECASE)
_JS_IMPORT = re.compile(r"\bimport\b[^;]*?from\s+[\"'](https?:)?//", re.IGNORECASE)


def _asset_dirs() -> dict:
    """The folders of the local MathJax and reveal.js copies (an error says what to install)."""
    try:
        import jupyter_server_mathjax
        import pyreveal
    except ImportError as error:
        raise RuntimeError(f"{error.name} is missing: the course site needs the course environment "
                           "(python3 course.py setup)") from None
    mathjax = Path(jupyter_server_mathjax.__file__).parent / "static"
    reveal = Path(pyreveal.__file__).parent / "revealjs"
    for path in (mathjax / "MathJax.js", reveal / "dist" / "reveal.js", reveal / "dist" / "plugin" / "notes.js"):
        if not path.is_file():
            raise RuntimeError(f"{path} is missing: reinstall the course environment (python3 course.py setup)")
    return {"mathjax": mathjax, "reveal": reveal}


def copy_assets(static: Path) -> None:
    """MathJax and reveal.js (its dist/ folder, less the themes that import web fonts) into ``static/``."""
    dirs = _asset_dirs()
    shutil.copytree(dirs["mathjax"], static / "mathjax", dirs_exist_ok=True)
    shutil.copytree(dirs["reveal"] / "dist", static / "reveal" / "dist", dirs_exist_ok=True)
    for theme in (static / "reveal" / "dist" / "theme").glob("*.css"):
        if external_references(theme.read_text(encoding="utf-8", errors="replace")):
            theme.unlink()


def offline_copy(nb):
    """A copy without widget state or widget views (they would load a widget manager from a CDN)."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data")
            if data and WIDGET_MIME in data:
                del data[WIDGET_MIME]
                data.setdefault("text/plain", "(an interactive widget: run the notebook to use it)")
    return nb


def _exporter(kind: str, static_prefix: str):
    from nbconvert import HTMLExporter, SlidesExporter

    if kind == "slides":
        exporter = SlidesExporter(template_name="course_reveal", extra_template_basedirs=[str(TEMPLATES)])
        exporter.reveal_url_prefix = static_prefix + "reveal"
        exporter.reveal_number = "c/t"
        exporter.reveal_theme = "white"     # reveal.js themes such as "simple" import fonts from Google
    else:
        exporter = HTMLExporter(template_name="course_lab", extra_template_basedirs=[str(TEMPLATES)])
    exporter.mathjax_url = f"{static_prefix}mathjax/MathJax.js?config={MATHJAX_CONFIG}"
    return exporter


def _is_figure(output) -> bool:
    return "image/png" in output.get("data", {})


def _has_figure(cell) -> bool:
    return any(_is_figure(output) for output in cell.get("outputs", []))


#: a code cell longer than this, with a figure, shows its code on one sub-slide and its figure on the next
SPLIT_LINES = 6


def slide_copy(nb) -> nbformat.NotebookNode:
    """A copy laid out for a 1280x800 screen: the set-up cell (the first code cell) is skipped, and a figure that
    would continue a slide (slide type ``-`` or none) opens a sub-slide of its own instead. A cell of more than
    ``SPLIT_LINES`` lines of code shows its code (and printed text) first and its figures on the next sub-slide, without
    the code. The notebook's own slide metadata stays as written; slides still too tall scroll (see the
    ``course_reveal`` template)."""
    nb = copy.deepcopy(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    if code:
        code[0].metadata.setdefault("slideshow", {})["slide_type"] = "skip"
    cells = []
    for index, cell in enumerate(nb.cells):
        cells.append(cell)
        if not (index and cell.cell_type == "code" and _has_figure(cell)):
            continue
        kind = cell.metadata.get("slideshow", {}).get("slide_type", "-")
        if kind in ("-", ""):
            cell.metadata.setdefault("slideshow", {})["slide_type"] = "subslide"
        if kind != "skip" and len(cell.source.splitlines()) > SPLIT_LINES:
            figures = [output for output in cell.outputs if _is_figure(output)]
            cell.outputs = [output for output in cell.outputs if not _is_figure(output)]
            cells.append(nbformat.v4.new_code_cell(cell.source, outputs=figures, metadata=nbformat.from_dict({
                "slideshow": {"slide_type": "subslide"}, "transient": {"remove_source": True}})))
    nb.cells = cells
    return nb


def render(nb, kind: str = "html", static_prefix: str = "../static/") -> str:
    """A notebook as one HTML page (``kind="html"``) or reveal.js slides (``kind="slides"``, laid out by
    :func:`slide_copy`)."""
    if kind not in ("html", "slides"):
        raise ValueError(f"kind is {kind!r}; render expects 'html' or 'slides'")
    nb = offline_copy(nb)
    body, _ = _exporter(kind, static_prefix).from_notebook_node(slide_copy(nb) if kind == "slides" else nb)
    return body


def external_references(html: str) -> list[str]:
    """What a page would fetch from another host when viewed: script/style/image URLs, CSS and JS imports."""
    found = [url for _, _, url in _FETCHING.findall(html)
             if re.match(r"^(https?:)?//", url.strip(), re.IGNORECASE)]
    found += [m.group(0) for m in _CSS_IMPORT.finditer(html)] + [m.group(0) for m in _JS_IMPORT.finditer(html)]
    return found


def _site_index(root: Path) -> nbformat.NotebookNode:
    """index.ipynb with links into the site, and a table of slides appended."""
    nb = nbformat.read(root / "index.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = re.sub(r"\((lectures/[^)\s]+)\.ipynb\)", r"(\1.html)", cell.source)
    lectures = sorted((root / "lectures").glob("*.ipynb"))
    rows = "\n".join(f"| {p.stem[:2]} | [{_title(p)}](slides/{p.stem}.slides.html) |" for p in lectures)
    nb.cells.append(nbformat.v4.new_markdown_cell(
        "## Slides\n\nEach lecture as slides (arrow keys to move, `s` for speaker notes, `f` for full screen):\n\n"
        "| # | slides |\n|---|---|\n" + rows))
    return nb


def _title(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return path.stem


def build_site(out=None, root=None, progress: bool = True) -> list[Path]:
    """Write the site (see the module docstring) into ``out``; returns the pages written.

    ``root`` is the course folder (default: the current folder), ``out`` the site's folder
    (default: ``root/site``). Raises RuntimeError when a page would fetch anything from another host.
    """
    root = Path.cwd() if root is None else Path(root)
    out = root / "site" if out is None else Path(out)
    if out.exists() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise ValueError(f"out is {out}, a folder that is not empty and not a course site: build_site needs a "
                         "folder of its own (e.g. site/) and never deletes anything else")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MARKER).write_text("built by course_lib.tools.site; the folder is replaced at each build\n")
    copy_assets(out / "static")
    pages = []

    def write(path: Path, html: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
        pages.append(path)
        if progress:
            print(f"  {path.relative_to(out)}", flush=True)

    write(out / "index.html", render(_site_index(root), "html", static_prefix="static/"))
    for path in sorted((root / "lectures").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        write(out / "lectures" / f"{path.stem}.html", render(nb, "html"))
        write(out / "slides" / f"{path.stem}.slides.html", render(nb, "slides"))
    (out / "exercises").mkdir(parents=True, exist_ok=True)
    for path in sorted((root / "exercises").glob("*.ipynb")):
        shutil.copy2(path, out / "exercises" / path.name)
    styles = sorted((out / "static").rglob("*.css"))
    problems = {str(p.relative_to(out)): refs for p in pages + styles
                if (refs := external_references(p.read_text(encoding="utf-8", errors="replace")))}
    if problems:
        raise RuntimeError(f"these pages would fetch files from the internet when viewed: {problems}")
    return pages


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python course.py site", description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=Path.cwd(),
                        help="the course folder (default: the current folder)")
    add_site_arguments(parser)
    args = parser.parse_args(argv)
    args.out = args.root / "site" if args.out is None else args.out
    try:
        pages = build_site(args.out, args.root)
    except (RuntimeError, ValueError) as error:
        print(f"site: {error}", file=sys.stderr)
        return 1
    print(f"wrote {len(pages)} pages; open {args.out / 'index.html'} in a browser (works offline)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
