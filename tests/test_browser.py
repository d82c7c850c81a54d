"""Browser smoke tests in headless Chromium: the offline site and slides render, and JupyterLab
opens and runs the index notebook. They need a Chromium (Debian's ``chromium``; `python3 course.py
test` installs it where it can); without one they are skipped, except in CI (``CI`` set), where
they fail."""
import contextlib
import functools
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from browser import Browser, find_chromium

ROOT = Path(__file__).resolve().parents[1]
LECTURES = sorted(p.stem for p in (ROOT / "lectures").glob("*.ipynb"))
# MathJax 2 measures text with a font whose source is about:blank; Chromium reports that as a CORS error.
# It also probes TeX fonts (MathJax_AMS, MathJax_Script: \mathbb, \mathcal) that jupyter_server_mathjax does not ship;
# the 404 is local, and the glyphs fall back to the STIX-Web fonts the site is configured with.
BENIGN = ("font at 'about:blank'", "ERR_FAILED (about:blank)", "/favicon.ico",
          "/static/mathjax/fonts/HTML-CSS/TeX/otf/")
# MathJax 2 has typeset the page when its queue is empty
TYPESET = "window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0 && MathJax.Hub.queue.running === 0"


@pytest.fixture(scope="module")
def chromium():
    path = find_chromium()
    if path is None:
        message = "no Chromium found: install Debian's chromium (or set CHROMIUM) for the browser tests"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def page_errors(browser):
    return [e for e in browser.errors() if not any(b in e for b in BENIGN)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served_site(site_build):
    out, _ = site_build

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield out, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def only_local(urls, base):
    return [u for u in urls if not u.startswith((base, "data:", "about:blank", "file://"))]


def test_site_and_slides_render_offline(chromium, served_site):
    out, base = served_site
    with Browser(chromium) as browser:
        for page in ["index.html"] + [f"lectures/{n}.html" for n in LECTURES]:
            browser.goto(f"{base}/{page}")
            assert browser.wait_for("document.querySelectorAll('.MathJax, .MathJax_Display').length", 60), page
            assert browser.wait_for(TYPESET, 60), page     # leave no page while MathJax is still at work on it
            if page != "index.html":   # the figures, embedded
                assert browser.evaluate("document.querySelectorAll('img[src^=\"data:image\"]').length") > 2, page
        for name in LECTURES:
            browser.goto(f"{base}/slides/{name}.slides.html")
            total = browser.wait_for("window.Reveal && Reveal.isReady() && Reveal.getTotalSlides()", 60)
            assert total >= 3, name
            assert browser.wait_for(TYPESET, 60), name
            browser.evaluate("Reveal.next()")
            assert browser.wait_for("Reveal.getIndices().h + Reveal.getIndices().v > 0", 10)
        time.sleep(1)   # let MathJax finish its last requests
        assert page_errors(browser) == []
        assert only_local(browser.requested_urls(), base) == []
    # opened from disk, with no server at all
    with Browser(chromium) as browser:
        browser.goto((out / "slides" / f"{LECTURES[0]}.slides.html").as_uri())
        assert browser.wait_for("window.Reveal && Reveal.isReady() && Reveal.getTotalSlides()", 60) >= 3
        assert browser.wait_for("document.querySelectorAll('.MathJax, .MathJax_Display').length", 60)
        assert page_errors(browser) == []
        assert only_local(browser.requested_urls(), "file://") == []


# every slide at 1280x800: its box inside the screen, nothing wider than the slide (code wraps, figures and formulas
# shrink), and content taller than the slide reachable by scrolling the slide
SLIDE_FITS = """(() => {
  const s = Reveal.getCurrentSlide(), r = s.getBoundingClientRect();
  const wide = Array.from(s.querySelectorAll('pre, img, table, .MathJax_Display'))
      .filter(e => e.getBoundingClientRect().right > r.right + 1 || e.scrollWidth > e.clientWidth + 1).length;
  s.scrollTop = s.scrollHeight;
  const reachable = s.scrollTop + s.clientHeight >= s.scrollHeight - 2;
  const tall = s.scrollHeight > s.clientHeight + 2;
  s.scrollTop = 0;
  return JSON.stringify({inside: r.top >= -1 && r.left >= -1
                                 && r.bottom <= innerHeight + 1 && r.right <= innerWidth + 1,
                         wide, reachable, tall});
})()"""


def test_every_slide_fits_a_1280_by_800_screen(chromium, served_site):
    _, base = served_site
    problems, scrolling = [], 0
    with Browser(chromium) as browser:
        browser.send("Emulation.setDeviceMetricsOverride", width=1280, height=800, deviceScaleFactor=1, mobile=False)
        for name in LECTURES:
            browser.goto(f"{base}/slides/{name}.slides.html")
            browser.wait_for("window.Reveal && Reveal.isReady() && Reveal.getTotalSlides()", 60)
            browser.wait_for(TYPESET, 60)
            browser.evaluate("Reveal.configure({transition: 'none', backgroundTransition: 'none'})")
            slides = json.loads(browser.evaluate("JSON.stringify(Reveal.getSlides().map(s => Reveal.getIndices(s)))"))
            for where in slides:
                h, v = where["h"], where.get("v") or 0
                fit = json.loads(browser.evaluate(VISIT_SLIDE.replace("H, V", f"{h}, {v}")))
                scrolling += fit["tall"]
                if not fit["inside"] or fit["wide"] or not fit["reachable"]:
                    problems.append(f"{name} slide {h}.{v}: {fit}")
    assert not problems, "slides that do not fit 1280x800:\n" + "\n".join(problems)
    print(f"every slide fits; {scrolling} of them scroll")


# one DevTools call a slide: go there, let it settle (0.1 s), wait until MathJax has re-rendered the slide it
# landed on (polled every 20 ms, at most 30 s), then measure it with SLIDE_FITS
VISIT_SLIDE = """(async () => {
  const pause = ms => new Promise(done => setTimeout(done, ms));
  Reveal.slide(H, V);
  await pause(100);
  for (const start = Date.now(); !(""" + TYPESET + """); await pause(20)) {
    if (Date.now() - start > 30000) throw new Error('MathJax still typesetting after 30 s');
  }
  return """ + SLIDE_FITS + """;
})()"""


def opened(path: str) -> str:
    """A JavaScript expression: the notebook panel of ``path`` in the running JupyterLab."""
    return f"(() => Array.from(jupyterapp.shell.widgets('main')).find(w => w.context && w.context.path === '{path}'))()"


NOTEBOOK = opened("index.ipynb")


@contextlib.contextmanager
def jupyterlab(root: Path):
    """A JupyterLab server on ``root`` (a scratch folder: the course's own files are never touched); yields its
    base URL and token, and stops it afterwards."""
    port, token = free_port(), "smoke-test"
    jupyter = Path(sys.executable).with_name("jupyter")
    log = open(root / "lab.log", "w")
    lab = subprocess.Popen([str(jupyter), "lab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
                            f"--ServerApp.port={port}", f"--IdentityProvider.token={token}",
                            f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
                            "--LabApp.extension_manager=readonly", "--LabApp.news_url=None",
                            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                            f"--LabApp.workspaces_dir={root / 'workspaces'}"],   # no layout remembered from elsewhere
                           stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api?token={token}", timeout=2)
                break
            except OSError:
                assert lab.poll() is None, (root / "lab.log").read_text()[-2000:]
                assert time.monotonic() < deadline, "JupyterLab did not start in 120 s"
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}", token
    finally:
        lab.terminate()
        try:
            lab.wait(30)
        except subprocess.TimeoutExpired:
            lab.kill()
        log.close()


def open_notebook(browser, base: str, token: str, path: str) -> str:
    """Open ``path`` in JupyterLab and wait for its kernel; returns the JavaScript expression of its kernel."""
    browser.goto(f"{base}/lab/tree/{path}?token={token}", 120)
    browser.wait_for("typeof window.jupyterapp === 'object'", 120)
    kernel = f"{opened(path)} && {opened(path)}.sessionContext.session && {opened(path)}.sessionContext.session.kernel"
    browser.wait_for(f"{kernel} && {kernel}.connectionStatus === 'connected'", 120)
    return kernel


def test_jupyterlab_opens_and_runs_the_index(chromium, tmp_path):
    shutil.copy(ROOT / "index.ipynb", tmp_path / "index.ipynb")      # the course's own copy is never touched
    with jupyterlab(tmp_path) as (base, token), Browser(chromium) as browser:
        kernel = open_notebook(browser, base, token, "index.ipynb")
        browser.evaluate("jupyterapp.commands.execute('notebook:clear-all-cell-outputs').then(() => true)")
        browser.evaluate("jupyterapp.commands.execute('notebook:run-all-cells').then(() => true)")
        done = (f"{NOTEBOOK}.content.widgets.filter(c => c.model.type === 'code')"
                ".every(c => c.model.executionCount !== null) && " + f"{kernel}.status === 'idle'")
        browser.wait_for(done, 120)
        outputs = browser.evaluate(f"JSON.stringify({NOTEBOOK}.content.widgets.filter(c => c.model.type === 'code')"
                                   ".map(c => c.model.toJSON().outputs))")
        assert "course_lib ready" in outputs and '"output_type":"error"' not in outputs, outputs
        assert browser.evaluate("document.querySelectorAll('mjx-container, .MathJax').length") > 0
        assert browser.evaluate("document.querySelectorAll('.jp-MarkdownCell').length") >= 3
        assert page_errors(browser) == []
        assert only_local(browser.requested_urls(), base) == []


def select_cell(browser, panel: str, index: int) -> None:
    browser.evaluate(f"(() => {{ {panel}.content.activeCellIndex = {index}; return true; }})()")


def cell_outputs(browser, panel: str, index: int) -> str:
    return browser.evaluate(f"JSON.stringify({panel}.content.widgets[{index}].model.toJSON().outputs)")


def run_cell(browser, panel: str, index: int, kernel: str) -> str:
    """Run cell ``index`` of the notebook ``panel`` as a student would (select it, run it), wait until it has run and
    the kernel is idle, and return its outputs as JSON."""
    select_cell(browser, panel, index)
    count = browser.evaluate(f"{panel}.content.widgets[{index}].model.executionCount")
    browser.evaluate("jupyterapp.commands.execute('notebook:run-cell').then(() => true)")
    browser.wait_for(f"{panel}.content.widgets[{index}].model.executionCount !== {json.dumps(count)} && "
                     f"{kernel}.status === 'idle'", 120)
    return cell_outputs(browser, panel, index)


def test_a_student_sees_what_is_wrong_then_the_tick(chromium, tmp_path):
    """The student's path: open exercise 01 in JupyterLab, type a wrong soft_threshold, run its test cell and read
    the specific message; type a right one, run it again and see the ✔."""
    course_copy = (ROOT / "exercises" / "01_inverse_problems.ipynb").read_bytes()
    shutil.copy(ROOT / "exercises" / "01_inverse_problems.ipynb", tmp_path / "exercise.ipynb")
    panel = opened("exercise.ipynb")
    index_of = (f"(id => {panel}.content.widgets.findIndex(c => ((c.model.toJSON().metadata || {{}}).nbgrader || {{}})"
                ".grade_id === id))")

    def run(index: int, kernel: str) -> str:
        return run_cell(browser, panel, index, kernel)

    def type_into(index: int, code: str) -> None:
        browser.evaluate(f"(() => {{ {panel}.content.widgets[{index}].model.sharedModel.setSource({json.dumps(code)}); "
                         "return true; })()")

    with jupyterlab(tmp_path) as (base, token), Browser(chromium) as browser:
        kernel = open_notebook(browser, base, token, "exercise.ipynb")
        set_up = browser.evaluate(f"{panel}.content.widgets.findIndex(c => c.model.type === 'code')")
        assert "course_lib ready" in run(set_up, kernel)
        solution, test = (browser.evaluate(f"{index_of}('soft_threshold')"),
                          browser.evaluate(f"{index_of}('test_soft_threshold')"))
        assert solution > set_up and test > solution
        run(solution, kernel)                                   # the stub, untouched
        assert "NotImplementedError" in run(test, kernel)
        type_into(solution, "def soft_threshold(x, lam):\n    return x - lam\n")      # shrinks, never zeroes
        run(solution, kernel)
        wrong = run(test, kernel)
        assert "CheckFailed" in wrong and "must become 0" in wrong, wrong
        type_into(solution, "def soft_threshold(x, lam):\n"
                            "    return torch.sign(x) * torch.clamp(x.abs() - lam, min=0)\n")
        run(solution, kernel)
        right = run(test, kernel)
        assert "✔" in right and "error" not in right, right
        assert page_errors(browser) == []
    # the course's copy untouched
    assert (ROOT / "exercises" / "01_inverse_problems.ipynb").read_bytes() == course_copy


def test_a_lecture_slider_redraws_its_figure(chromium, tmp_path):
    """A lecture's knob in JupyterLab: run lecture 01 up to its Tikhonov slider, move the slider one step with the
    keyboard, and see its value change and the figure redrawn (a new image), with no error on the page."""
    course_copy = (ROOT / "lectures" / "01_inverse_problems.ipynb").read_bytes()
    shutil.copy(ROOT / "lectures" / "01_inverse_problems.ipynb", tmp_path / "lecture.ipynb")
    panel = opened("lecture.ipynb")
    with jupyterlab(tmp_path) as (base, token), Browser(chromium) as browser:
        kernel = open_notebook(browser, base, token, "lecture.ipynb")
        index = browser.evaluate(f"{panel}.content.widgets.findIndex(c => c.model.sharedModel.getSource()"
                                 ".includes('widgets.interact(show_tikhonov'))")
        assert index > 0
        browser.evaluate("jupyterapp.commands.execute('notebook:clear-all-cell-outputs').then(() => true)")
        select_cell(browser, panel, index)
        browser.evaluate("jupyterapp.commands.execute('notebook:run-all-above').then(() => true)")
        browser.wait_for(f"{panel}.content.widgets.slice(0, {index}).filter(c => c.model.type === 'code')"
                         f".every(c => c.model.executionCount !== null) && {kernel}.status === 'idle'", 240)
        run_cell(browser, panel, index, kernel)
        node = f"{panel}.content.widgets[{index}].node"
        image = f"(({node}.querySelector('.jp-OutputArea-output img') || {{}}).src || '')"
        readout = f"(({node}.querySelector('.widget-readout') || {{}}).textContent || '')"
        browser.wait_for(f"{kernel}.status === 'idle' && {node}.querySelector('.noUi-handle') && {image}", 120)
        browser.evaluate(f"(() => {{ window.figureBefore = {image}; return true; }})()")     # kept in the page
        value = browser.evaluate(readout)
        browser.evaluate(f"(() => {{ {node}.querySelector('.noUi-handle').focus(); return true; }})()")
        for kind in ("keyDown", "keyUp"):
            browser.send("Input.dispatchKeyEvent", type=kind, key="ArrowRight", code="ArrowRight",
                         windowsVirtualKeyCode=39, nativeVirtualKeyCode=39)
        browser.wait_for(f"{image} && {image} !== window.figureBefore && {kernel}.status === 'idle'", 120)
        assert browser.evaluate(readout) != value, "the slider's readout did not move"
        outputs = cell_outputs(browser, panel, index)
        assert '"output_type":"error"' not in outputs, outputs
        assert page_errors(browser) == []
    assert (ROOT / "lectures" / "01_inverse_problems.ipynb").read_bytes() == course_copy
