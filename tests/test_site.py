"""The offline course site and slides: built from the notebooks, nothing fetched at view time."""
from pathlib import Path

import nbformat
import pytest

from course_lib.tools import site

ROOT = Path(__file__).resolve().parents[1]
LECTURES = sorted(p.stem for p in (ROOT / "lectures").glob("*.ipynb"))


@pytest.fixture(scope="module")
def built(site_build):
    return site_build


def test_site_has_every_lecture_slides_and_exercise(built):
    out, pages = built
    assert (out / "index.html") in pages
    for name in LECTURES:
        assert (out / "lectures" / f"{name}.html").is_file()
        assert (out / "slides" / f"{name}.slides.html").is_file()
        assert (out / "exercises" / f"{name}.ipynb").is_file()
    index = (out / "index.html").read_text()
    for name in LECTURES:
        assert f'href="lectures/{name}.html"' in index and f'href="slides/{name}.slides.html"' in index


def test_pages_fetch_nothing_from_the_internet(built):
    out, pages = built
    for page in pages:
        html = page.read_text()
        assert site.external_references(html) == [], page
        # every local script or stylesheet it names is in the site
        for _, _, url in site._FETCHING.findall(html):
            if url.startswith("data:"):
                continue
            target = (page.parent / url.split("?")[0].split("#")[0]).resolve()
            assert target.is_file(), (page.name, url)


def test_slides_follow_the_slideshow_metadata(built):
    out, _ = built
    for name in LECTURES:
        nb = nbformat.read(ROOT / "lectures" / f"{name}.ipynb", as_version=4)
        n_slides = sum(c.metadata.get("slideshow", {}).get("slide_type") == "slide" for c in nb.cells)
        assert n_slides >= 3, f"{name}: give each section a slide (slideshow metadata)"
        html = (out / "slides" / f"{name}.slides.html").read_text()
        assert html.count("<section") >= n_slides
        assert "Reveal.initialize" in html and "require(" not in html
        assert "data:image/png;base64," in html          # the figures are in the page


def test_external_references_finds_cdn_use():
    assert site.external_references('<script src="https://cdn.x/require.js"></script>') == ["https://cdn.x/require.js"]
    assert site.external_references('<link rel="stylesheet" href="//fonts.example/a.css">')
    assert site.external_references("<style>@import url('https://x/y.css');</style>")
    assert site.external_references("@font-face { src: url(https://fonts.gstatic.com/a.woff2); }")
    assert site.external_references('<script type="module">import m from "https://cdn/m.js";</script>')
    assert site.external_references('<a href="https://deepinv.github.io">a link</a>') == []
    assert site.external_references('<img src="data:image/png;base64,AAA">') == []


def test_widget_state_is_dropped():
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"state": {}}
    cell = nbformat.v4.new_code_cell("slider")
    cell.outputs = [nbformat.v4.new_output("display_data", data={site.WIDGET_MIME: {"model_id": "x"}})]
    nb.cells.append(cell)
    clean = site.offline_copy(nb)
    assert "widgets" not in clean.metadata and site.WIDGET_MIME not in clean.cells[0].outputs[0].data
    assert "widgets" in nb.metadata                        # the original is left alone


def test_refuses_to_build_over_other_files(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="folder of its own"):
        site.build_site(tmp_path, root=ROOT)
    with pytest.raises(ValueError, match="folder of its own"):
        site.build_site(ROOT / "lectures", root=ROOT)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_slides_skip_the_set_up_cell_and_give_each_figure_a_sub_slide():
    figure = nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# title", metadata={"slideshow": {"slide_type": "slide"}}),
        nbformat.v4.new_code_cell("import course_lib"),
        nbformat.v4.new_code_cell("plot()", outputs=[figure]),
        nbformat.v4.new_code_cell("plot()", outputs=[figure], metadata={"slideshow": {"slide_type": "slide"}}),
        nbformat.v4.new_code_cell("print(1)")])
    laid_out = site.slide_copy(nb)
    kinds = [cell.metadata.get("slideshow", {}).get("slide_type", "-") for cell in laid_out.cells]
    assert kinds == ["slide", "skip", "subslide", "slide", "-"]
    assert "slideshow" not in nb.cells[1].metadata, "the notebook itself is not changed"


def test_a_long_figure_cell_shows_its_code_then_its_figure():
    figure = nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})
    printed = nbformat.v4.new_output("stream", name="stdout", text="gap 1e-9\n")
    long = "\n".join(f"line_{i} = {i}" for i in range(site.SPLIT_LINES + 1))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import course_lib"),
                                         nbformat.v4.new_code_cell(long, outputs=[printed, figure]),
                                         nbformat.v4.new_code_cell("plot()", outputs=[figure])])
    laid_out = site.slide_copy(nb)
    assert len(laid_out.cells) == 4 and len(nb.cells[1].outputs) == 2, "the notebook itself is not changed"
    code, shown = laid_out.cells[1], laid_out.cells[2]
    assert code.outputs == [printed] and code.metadata["slideshow"]["slide_type"] == "subslide"
    assert shown.outputs == [figure] and shown.metadata["slideshow"]["slide_type"] == "subslide"
    assert shown.metadata["transient"]["remove_source"]
    assert laid_out.cells[3].outputs == [figure]                        # a short cell keeps code and figure together
    html = site.render(nb, kind="slides")
    assert html.count("line_3") == 1, "the figure's sub-slide does not repeat the code"
