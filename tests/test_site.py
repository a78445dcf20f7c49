"""The documentation site (``make site``: Sphinx + myst-nb, ``docs/``).

Always (fast, part of ``make test``): the API reference lists exactly the names of
``shld_jax.__all__``, and each has a docstring.

On a built site (``make site-test`` sets ``SITE_DIR``; skipped otherwise, since a build takes
about half a minute and the browser checks minutes):

* every public name has its page with its signature; every notebook, the ledger and the
  quick start have theirs; every link, image, script and stylesheet is local and exists;
* a second build from the same sources is byte-identical;
* in headless Chromium, driven over the DevTools protocol (``websocket-client``) against a
  local ``http.server``: every page loads with no JS exception, console error, failed or
  external request; every image loads; every math element is typeset by MathJax without
  error; the search page finds the ``ars`` page for "ars". Screenshots go to
  ``build/site-screenshots/``. Skipped when no Chromium is installed.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

import shld_jax
from shld_jax import paths

ROOT = paths.repo_root()
DOCS = ROOT / "docs"
SHOTS = ROOT / "build" / "site-screenshots"
SITE = Path(os.environ["SITE_DIR"]) if os.environ.get("SITE_DIR") else None
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

needs_site = pytest.mark.skipif(
    SITE is None, reason="needs a built site: `make site-test` (sets SITE_DIR=site)")


def _api_names() -> list[str]:
    text = (DOCS / "api.rst").read_text(encoding="utf-8")
    return re.findall(r"^\s{3}(\w+)\s*$", text, re.M)


# ---------------------------------------------------------------- without a build


def test_api_reference_lists_every_public_name_once():
    names = _api_names()
    assert sorted(names) == sorted(set(names)), "a name is listed twice"
    assert set(names) == set(shld_jax.__all__)


@pytest.mark.parametrize("name", shld_jax.__all__)
def test_every_public_name_is_documented(name):
    obj = getattr(shld_jax, name)
    if isinstance(obj, (int, float, str)):  # constants: the docstring under their assignment
        from sphinx.pycode import ModuleAnalyzer

        docs = {}
        for mod in ("_langevin", "_settings", "_potentials"):
            docs.update(ModuleAnalyzer.for_module(f"shld_jax.{mod}").find_attr_docs())
        assert ("", name) in docs, f"{name} has no docstring"
        return
    doc = obj.__doc__ or ""
    assert len(doc.strip()) > 20, f"{name} has no real docstring"


# ---------------------------------------------------------------- on the built site


def _soup(path: Path):
    from bs4 import BeautifulSoup

    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _pages(site: Path) -> list[str]:
    """Every HTML page except the highlighted source code of viewcode (``_modules/``) and the
    theme's template fragments in ``_static/``."""
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                  if not p.relative_to(site).as_posix().startswith(("_modules/", "_static/")))


@needs_site
def test_every_public_name_has_its_page():
    for name in shld_jax.__all__:
        page = SITE / "_autosummary" / f"shld_jax.{name}.html"
        assert page.is_file(), f"no API page for {name}"
        soup = _soup(page)
        sig = soup.find(id=f"shld_jax.{name}")
        assert sig is not None, f"{name}: no signature on its page"
        dd = sig.find_next_sibling("dd")
        assert dd is not None and len(dd.get_text(strip=True)) > 20, f"{name}: empty description"
    api = _soup(SITE / "api.html")
    linked = {a["href"] for a in api("a", href=True)}
    for name in shld_jax.__all__:
        assert f"_autosummary/shld_jax.{name}.html#shld_jax.{name}" in linked, name


@needs_site
def test_notebooks_ledger_and_guides_are_pages():
    for p in NOTEBOOKS:
        page = SITE / "notebooks" / f"{p.stem}.html"
        assert page.is_file(), f"no page for {p.name}"
        n_png = sum("image/png" in o.get("data", {})
                    for c in json.loads(p.read_text())["cells"] for o in c.get("outputs", []))
        assert len(_soup(page).select("article img")) >= n_png, f"{p.name}: figures missing"
    ledger = _soup(SITE / "figures" / "CLAIMS.html").get_text()
    rows = json.loads("[" + ",".join((ROOT / "figures" / "claims" / f).read_text().strip()[1:-1]
                                     for f in sorted(os.listdir(ROOT / "figures" / "claims"))
                                     if f.endswith(".json")) + "]")
    for r in rows:
        assert r["id"] in ledger, f"ledger row {r['id']} not on the ledger page"
    for verdict in ("supported", "refuted", "reading-dependent", "inconclusive",
                    "not testable here"):
        assert verdict in ledger
    quick = _soup(SITE / "quickstart.html").get_text()
    assert "make figures" in quick and "sj.ars" in quick
    assert "jax.distributed.initialize" in _soup(SITE / "scaling.html").get_text()
    assert "SHLD_FIG_DIR" in _soup(SITE / "settings.html").get_text()


@needs_site
def test_everything_is_local_and_links_resolve():
    assert (SITE / "_static" / "mathjax" / "MathJax.js").is_file()
    for name in _pages(SITE):
        page = SITE / name
        soup = _soup(page)
        for tag, attr in (("img", "src"), ("script", "src"), ("link", "href"), ("iframe", "src")):
            for el in soup(tag):
                url = el.get(attr)
                if not url or url.startswith(("data:", "#")):
                    continue
                assert "://" not in url and not url.startswith("//"), f"{name}: external {url}"
                target = (page.parent / url.split("?")[0].split("#")[0]).resolve()
                assert target.is_file(), f"{name}: {tag} {url} is missing"
        for a in soup("a", href=True):
            href = a["href"]
            if href.startswith(("http://", "https://", "mailto:", "#")):
                continue
            target = (page.parent / href.split("#")[0]).resolve()
            assert target.exists(), f"{name}: broken link {href}"


@needs_site
def test_build_is_deterministic(tmp_path):
    again = tmp_path / "site"
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-E", "-W", "--keep-going", "-q",
           "-d", str(tmp_path / "doctrees"), str(DOCS), str(again)]
    env = {**os.environ, "PYTHONHASHSEED": os.environ.get("PYTHONHASHSEED", "0")}
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    files = sorted(f.relative_to(SITE) for f in SITE.rglob("*") if f.is_file())
    assert files == sorted(f.relative_to(again) for f in again.rglob("*") if f.is_file())
    differ = [f for f in files if (SITE / f).read_bytes() != (again / f).read_bytes()]
    assert not differ, f"files differ between two builds: {differ[:10]}"


# ---------------------------------------------------------------- in a browser


def _chromium() -> str | None:
    return os.environ.get("CHROMIUM") or next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)


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

    def eval(self, js: str, timeout: float = 60.0):
        """Evaluate ``js`` (a JSON-returning expression or promise) and decode its value."""
        res = self.call("Runtime.evaluate", expression=js, returnByValue=True, awaitPromise=True,
                        timeout=int(timeout * 1000))
        if "exceptionDetails" in res:
            raise RuntimeError(f"JS failed: {res['exceptionDetails']}")
        return json.loads(res["result"]["value"])

    def wait(self, method: str, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events:
                if e.get("method") == method:
                    return e
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} within {timeout} s")
            self.events.append(json.loads(self.ws.recv()))


IMAGES_JS = ("JSON.stringify(Array.from(document.images).map(i => ({src: (i.getAttribute('src')"
             " || '').slice(0, 80), w: i.naturalWidth, done: i.complete})))")
# Wait for MathJax 2 to finish typesetting, then report every math element's state. Errors
# are counted twice over: error elements in the output, and the TeX input jax's signals (a
# parse error, or an undefined macro: the preloaded noUndefined extension typesets those in
# red without an error element; MathJax.Hub.signal keeps every posted message).
MATH_JS = """
new Promise(resolve => {
  const report = () => {
    const els = Array.from(document.querySelectorAll('.math'));
    const posted = (typeof MathJax !== 'undefined' && MathJax.Hub) ? MathJax.Hub.signal.posted : [];
    const messages = posted.filter(m => Array.isArray(m) &&
        /parse error|undefined control sequence|Math Processing Error/.test(String(m[0])))
      .map(m => String(m[0]) + ': ' + String(m[1]).slice(0, 80));
    resolve(JSON.stringify({
      mathjax: typeof MathJax !== 'undefined' && !!MathJax.Hub,
      total: els.length,
      typeset: els.filter(e => e.querySelector('.MathJax_CHTML, .MathJax_Display')).length,
      errors: document.querySelectorAll(
        '.MathJax_Error, merror, .mjx-merror, .mjx-noError').length + messages.length,
      messages: messages,
      raw: els.filter(e => /\\\\[(\\[]/.test(e.textContent) &&
                           !e.querySelector('.MathJax_CHTML')).map(e => e.textContent.slice(0, 60)),
    }));
  };
  if (typeof MathJax === 'undefined' || !MathJax.Hub) { report(); return; }
  MathJax.Hub.Queue(report);
})
"""
SEARCH_JS = """
new Promise(resolve => {
  const t0 = Date.now();
  const poll = () => {
    const links = Array.from(document.querySelectorAll('#search-results a, ul.search a'))
                       .map(a => a.getAttribute('href'));
    const done = document.querySelector('#search-results p.search-summary, .search-summary');
    if ((links.length && done) || Date.now() - t0 > 30000) resolve(JSON.stringify(links));
    else setTimeout(poll, 200);
  };
  poll();
})
"""


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
            if not (u.startswith(base) or u.startswith(("data:", "blob:", "about:"))):
                errors.append(f"external request: {u}")
        elif m == "Network.loadingFailed" and not p.get("canceled"):
            errors.append(f"load failed: {p.get('errorText')}")
        elif m == "Network.responseReceived" and p["response"]["status"] >= 400:
            errors.append(f"HTTP {p['response']['status']}: {p['response']['url']}")
    return errors


def visit(cdp: DevTools, url: str, base: str, shot: Path | None = None) -> dict:
    """Load ``url``; return its images, math state and errors."""
    cdp.events.clear()
    cdp.call("Page.navigate", url=url)
    cdp.wait("Page.loadEventFired")
    got = {"images": cdp.eval(IMAGES_JS), "math": cdp.eval(MATH_JS)}
    got["images"] = cdp.eval(IMAGES_JS)  # again, after MathJax (lazy images have loaded)
    got["errors"] = _errors(cdp.events, base)
    if shot is not None:
        h = cdp.call("Page.getLayoutMetrics")["cssContentSize"]["height"]
        png = cdp.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                       clip={"x": 0, "y": 0, "width": 1280, "height": min(h, 8000), "scale": 1})
        shot.write_bytes(base64.b64decode(png["data"]))
    return got


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if SITE is None:
        pytest.skip("needs a built site: `make site-test` (sets SITE_DIR=site)")
    exe = _chromium()
    if exe is None:
        pytest.skip("no Chromium found (`chromium` not on PATH; set CHROMIUM=/path or run "
                    "`make site-test`, which installs Debian's chromium): browser checks skipped")
    pytest.importorskip("websocket", reason="needs websocket-client (the dev extra)")
    # a copy, so the broken-page check below never writes into the real site
    out = tmp_path_factory.mktemp("served") / "site"
    shutil.copytree(SITE, out)
    handler = functools.partial(_QuietHandler, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    profile = tmp_path_factory.mktemp("chromium-profile")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-extensions", "--disable-default-apps", "--hide-scrollbars",
             "--remote-debugging-port=0", f"--user-data-dir={profile}",
             "--window-size=1280,900", "about:blank"]
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
    """The checks can fail: a JS error, a console error, a missing image, broken math."""
    cdp, base, out = browser
    (out / "_broken.html").write_text(
        '<html><head><link rel="icon" href="_static/favicon.svg">'
        '<script src="_static/mathjax/MathJax.js?config=TeX-AMS_CHTML"></script></head><body>'
        '<img src="nope.png"><span class="math">\\(\\frac{1}{\\)</span>'
        '<span class="math">\\(\\notamacro x\\)</span><span class="math">\\(x^2\\)</span>'
        '<script>console.error("boom"); undefinedFn();</script></body></html>')
    try:
        got = visit(cdp, base + "_broken.html", base)
        visit(cdp, "about:blank", "about:")  # late events of this page must not leak into others
    finally:
        (out / "_broken.html").unlink()
    assert [i["w"] for i in got["images"]] == [0]
    m = got["math"]
    assert m["mathjax"] and m["total"] == 3 and m["typeset"] >= 2, m
    assert any("parse error" in t for t in m["messages"]), m  # \\frac{1}{
    assert any("undefined control sequence" in t and "notamacro" in t for t in m["messages"]), m
    text = "\n".join(got["errors"])
    assert "undefinedFn" in text and "boom" in text and "404" in text


def test_every_page_renders_in_chromium(browser):
    cdp, base, out = browser
    SHOTS.mkdir(parents=True, exist_ok=True)
    t0, problems, n_math = time.monotonic(), {}, 0
    pages = _pages(out)
    assert len(pages) > len(shld_jax.__all__) + len(NOTEBOOKS)
    for name in pages:
        shot = SHOTS / (name.replace("/", "__").replace(".html", ".png"))
        got = visit(cdp, base + name, base, shot=shot if "_autosummary" not in name else None)
        bad = [f"image {i['src']} not loaded" for i in got["images"]
               if not (i["done"] and i["w"] > 0)]
        bad += got["errors"]
        m = got["math"]
        n_math += m["total"]
        if m["total"]:
            if not m["mathjax"]:
                bad.append("math on the page but MathJax not loaded")
            if m["typeset"] != m["total"] or m["errors"] or m["raw"]:
                bad.append(f"math: {m['typeset']}/{m['total']} typeset, {m['errors']} errors "
                           f"{m['messages'][:3]}, raw: {m['raw'][:3]}")
        if bad:
            problems[name] = bad
    assert not problems, problems
    assert n_math > 0, "no math anywhere on the site"
    print(f"{len(pages)} pages, {n_math} math elements in {time.monotonic() - t0:.1f} s; "
          f"screenshots: {SHOTS}")


def test_search_finds_the_ars_page(browser):
    cdp, base, out = browser
    cdp.events.clear()
    cdp.call("Page.navigate", url=base + "search.html?q=ars")
    cdp.wait("Page.loadEventFired")
    links = cdp.eval(SEARCH_JS, timeout=40)
    assert _errors(cdp.events, base) == []
    assert any(h.split("#")[0].endswith("_autosummary/shld_jax.ars.html") for h in links), links
