"""The rendered site: built from the committed notebooks and ledger, then read by a real browser.

The browser tests drive headless Chromium over the DevTools protocol (``websocket-client``
comes with jupyter_server) against a local ``http.server`` on 127.0.0.1, and are skipped
when no Chromium is installed (``make site-test`` installs Debian's ``chromium``).
Screenshots go to ``build/site-screenshots/``.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

from shld_jax import _site, paths

ROOT = paths.repo_root()
FIGURES = ROOT / "figures"
SHOTS = ROOT / "build" / "site-screenshots"
NOTEBOOKS = [p for p in _site.notebooks(ROOT / "notebooks")
             if _site.is_executed(nbformat.read(p, as_version=4))]  # drafts stay off the site


def _chromium() -> str | None:
    return os.environ.get("CHROMIUM") or next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "site"
    return out, _site.build(out)


def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


# ---------------------------------------------------------------- without a browser

def test_index_lists_every_notebook_and_verdict(site):
    out, res = site
    assert NOTEBOOKS, "no executed notebook to render"
    assert res["missing"] == []
    index = _soup(out / "index.html")
    for p in NOTEBOOKS:
        assert (out / f"{p.stem}.html").exists()
        card = index.find("section", id=f"nb-{p.stem[:2]}")
        assert card is not None, f"index has no entry for {p.name}"
        title, question, _ = _site.describe(nbformat.read(p, as_version=4))
        assert card.h2.a["href"] == f"{p.stem}.html"
        assert card.h2.get_text(strip=True) == (title or p.stem)
        assert question.strip() and card.p is not None
        table = card.find("table", class_="verdicts")
        trs = table.tbody("tr") if table is not None else []
        listed = [[td.get_text(strip=True) for td in tr("td")[:3]] for tr in trs]
        rows = _site.load_claims(FIGURES, p.stem[:2])
        assert listed == [[r["id"], r["claim"], r["verdict"]] for r in rows]
    ledger = _soup(out / "claims.html")
    all_ids = {r["id"] for p in NOTEBOOKS for r in _site.load_claims(FIGURES, p.stem[:2])}
    assert all_ids <= {td.get_text(strip=True) for td in ledger("td")}


def test_pages_are_linked_local_and_fold_code(site):
    out, res = site
    pages = res["pages"]
    assert pages == ["index.html", *[f"{p.stem}.html" for p in NOTEBOOKS], "claims.html"]
    for name in pages:
        soup = _soup(out / name)
        assert [a["href"] for a in soup.find("nav")("a")] == pages, name
        for tag, attr in (("img", "src"), ("script", "src"), ("link", "href"), ("iframe", "src")):
            for el in soup(tag):
                url = el.get(attr)
                if url is None or url.startswith("data:"):
                    continue
                assert "://" not in url and not url.startswith("//"), f"{name}: external {url}"
                assert (out / url).is_file(), f"{name}: {tag} {url} is missing"
        for a in soup("a", href=True):
            target = a["href"].split("#")[0]
            if target and "://" not in target:
                assert (out / target).is_file(), f"{name}: broken link {a['href']}"
    for p in NOTEBOOKS:
        soup = _soup(out / f"{p.stem}.html")
        inputs = soup.select("div.input")
        assert inputs and all(i.find_parent("details", class_="code") for i in inputs)
        assert not soup.select("details.code[open]")
        srcs = [img["src"] for img in soup("img")]
        embedded = sum(s.startswith("data:image/") for s in srcs)
        for cell in nbformat.read(p, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            has_image = any(k.startswith("image/") for o in cell.get("outputs", []) for k in o.get("data", {}))
            for fig in _site.SAVEFIG.findall(cell.source):
                # a figure is shown either embedded by the kernel or linked from figures/
                assert has_image or f"figures/{fig}.png" in srcs, f"{p.name}: figure {fig} not shown"
        assert embedded + sum(s.startswith("figures/") for s in srcs) >= 1


def test_build_is_deterministic(site, tmp_path):
    out, _ = site
    again = tmp_path / "again"
    _site.build(again)
    files = sorted(f.relative_to(out) for f in out.rglob("*") if f.is_file())
    assert files == sorted(f.relative_to(again) for f in again.rglob("*") if f.is_file())
    for f in files:
        assert (out / f).read_bytes() == (again / f).read_bytes(), f


def test_figures_drafts_and_missing_figures(tmp_path):
    import matplotlib.pyplot as plt
    import numpy as np

    nbd, figd = tmp_path / "nb", tmp_path / "fig"
    nbd.mkdir(), figd.mkdir()
    plt.imsave(figd / "07_saved.png", np.zeros((4, 6)))
    plt.imsave(figd / "07_loop_a.png", np.ones((4, 6)))
    code = nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 07 · Title\n\nWhat is asked?\n\nMore."),
        code('plotting.savefig(fig, "07_saved")\nplotting.savefig(fig, "07_gone")',
             execution_count=1),
        code('for n in "a":\n    plotting.savefig(fig, f"07_loop_{n}")', execution_count=2),
    ])
    nbformat.write(nb, nbd / "07_demo.ipynb")
    nb.cells[1].execution_count = None
    nbformat.write(nb, nbd / "08_draft.ipynb")
    res = _site.build(tmp_path / "s", nb_dir=nbd, fig_dir=figd)
    assert res["missing"] == ["07_gone.png"]
    assert res["drafts"] == ["08_draft.ipynb"]
    assert res["pages"] == ["index.html", "07_demo.html", "claims.html"]
    assert res["figures"] == ["07_loop_a.png", "07_saved.png"]
    page = (tmp_path / "s" / "07_demo.html").read_text()
    # the literal name under its cell; the f-string one in the closing section
    assert page.index("07_saved.png") < page.index("Further figures") < page.index("07_loop_a.png")
    text = _soup(tmp_path / "s" / "index.html").get_text()
    assert "No ledger rows yet" in text and "What is asked?" in text and "08_draft" in text
    with pytest.raises(ValueError, match="`out`"):
        _site.build(nbd, nb_dir=nbd, fig_dir=figd)  # a folder it did not make is never wiped
    assert (nbd / "07_demo.ipynb").exists()


# ---------------------------------------------------------------- in a browser

class DevTools:
    """A minimal Chrome DevTools Protocol client over one websocket: calls, and events in order."""

    def __init__(self, ws_url: str):
        import websocket

        self.ws = websocket.create_connection(ws_url, timeout=60, suppress_origin=True)
        self.n, self.events = 0, []

    def call(self, method: str, **params):
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.n:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def eval(self, js: str):
        return json.loads(self.call("Runtime.evaluate", expression=js, returnByValue=True)
                          ["result"]["value"])

    def wait(self, method: str, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events:
                if e.get("method") == method:
                    return e
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} within {timeout} s")
            self.events.append(json.loads(self.ws.recv()))


IMAGES_JS = ("JSON.stringify(Array.from(document.images).map(i => ({src: i.getAttribute('src')"
             ".slice(0, 80), w: i.naturalWidth, done: i.complete})))")
CODE_SHOWN_JS = ("JSON.stringify(Array.from(document.querySelectorAll('details.code')).map(d => "
                 "d.querySelector('pre')?.checkVisibility() ?? false))")


def _errors(events: list[dict], base: str) -> list[str]:
    """JS exceptions, console errors, failed/404 loads and requests leaving ``base``."""
    errors = []
    for e in events:
        m, p = e.get("method"), e.get("params", {})
        if m == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            errors.append(f"JS: {d.get('exception', {}).get('description', d.get('text'))}")
        elif m == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert"):
            args = [a.get("value", a.get("description")) for a in p["args"]]
            errors.append(f"console.{p['type']}: {args}")
        elif m == "Log.entryAdded" and p["entry"]["level"] == "error":
            errors.append(f"log: {p['entry']['text']} {p['entry'].get('url', '')}")
        elif m == "Network.requestWillBeSent":
            u = p["request"]["url"]
            if not (u.startswith(base) or u.startswith("data:")):
                errors.append(f"external request: {u}")
        elif m == "Network.loadingFailed":
            errors.append(f"load failed: {p.get('errorText')}")
        elif m == "Network.responseReceived" and p["response"]["status"] >= 400:
            errors.append(f"HTTP {p['response']['status']}: {p['response']['url']}")
    return errors


def visit(cdp: DevTools, url: str, base: str, shot: Path | None = None) -> dict:
    """Load ``url``; return its images, errors and which folded code blocks are visible."""
    cdp.events.clear()
    cdp.call("Page.navigate", url=url)
    cdp.wait("Page.loadEventFired")
    got = {"images": cdp.eval(IMAGES_JS), "code_shown": cdp.eval(CODE_SHOWN_JS)}
    got["errors"] = _errors(cdp.events, base)
    if shot is not None:
        h = cdp.call("Page.getLayoutMetrics")["cssContentSize"]["height"]
        png = cdp.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                       clip={"x": 0, "y": 0, "width": 1280, "height": min(h, 12000), "scale": 1})
        shot.write_bytes(base64.b64decode(png["data"]))
    return got


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser(site, tmp_path_factory):
    exe = _chromium()
    if exe is None:
        pytest.skip("no Chromium found (`chromium` not on PATH; set CHROMIUM=/path or run "
                    "`make site-test`, which installs Debian's chromium): browser checks skipped")
    pytest.importorskip("websocket", reason="needs websocket-client (a jupyter_server dependency)")
    out, _ = site
    handler = functools.partial(_QuietHandler, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    profile = tmp_path_factory.mktemp("chromium-profile")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-extensions", "--hide-scrollbars", "--remote-debugging-port=0",
             f"--user-data-dir={profile}", "--window-size=1280,900", "about:blank"]
    proc = subprocess.Popen([exe, *flags], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    cdp = None
    try:
        port_file, deadline = profile / "DevToolsActivePort", time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            assert proc.poll() is None, f"chromium exited with {proc.returncode}"
            assert time.monotonic() < deadline, "chromium did not open its DevTools port in 60 s"
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as r:
            target = next(t for t in json.load(r) if t["type"] == "page")
        cdp = DevTools(target["webSocketDebuggerUrl"])
        for domain in ("Page", "Runtime", "Log", "Network"):
            cdp.call(f"{domain}.enable")
        cdp.call("Emulation.setDeviceMetricsOverride", width=1280, height=900,
                 deviceScaleFactor=1, mobile=False)
        yield cdp, base, out
    finally:
        if cdp is not None:
            cdp.ws.close()
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # renderer and zygote processes too
        except ProcessLookupError:
            pass
        proc.wait(15)
        server.shutdown()
        server.server_close()


def test_browser_detects_broken_pages(browser):
    """The checks can fail: a JS error, a console error, a missing image, unfolded code."""
    cdp, base, out = browser
    (out / "_broken.html").write_text(
        '<html><head><link rel="icon" href="favicon.svg"></head><body>'
        '<img src="figures/nope.png"><script>console.error("boom"); undefinedFn();</script>'
        '<details class="code" open><pre>shown</pre></details>'
        '<details class="code"><pre>folded</pre></details></body></html>')
    try:
        got = visit(cdp, base + "_broken.html", base)
        visit(cdp, "about:blank", "about:")  # late events of this page must not leak into others
    finally:
        (out / "_broken.html").unlink()
    assert [i["w"] for i in got["images"]] == [0]
    assert got["code_shown"] == [True, False]
    text = "\n".join(got["errors"])
    assert "undefinedFn" in text and "boom" in text and "404" in text


def test_every_page_renders_in_chromium(browser, site):
    cdp, base, out = browser
    SHOTS.mkdir(parents=True, exist_ok=True)
    t0, problems = time.monotonic(), {}
    for name in site[1]["pages"]:
        shot = SHOTS / name.replace(".html", ".png")
        got = visit(cdp, base + name, base, shot=shot)
        bad = [f"image {i['src']} not loaded" for i in got["images"]
               if not (i["done"] and i["w"] > 0)]
        bad += got["errors"]
        bad += ["a code cell is shown by default"] * any(got["code_shown"])
        if name[:2].isdigit():
            n_png = len(list(FIGURES.glob(f"{name[:2]}_*.png")))
            if len(got["images"]) < n_png:
                bad.append(f"{len(got['images'])} images shown, {n_png} figures saved")
        if bad:
            problems[name] = bad
        assert shot.stat().st_size > 10_000
    assert not problems, problems
    print(f"{len(site[1]['pages'])} pages in {time.monotonic() - t0:.1f} s; screenshots: {SHOTS}")
