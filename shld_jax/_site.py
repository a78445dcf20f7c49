"""The compendium as a static HTML site: the executed notebooks and the claims ledger.

    python -m shld_jax._site [OUT]          # default OUT: site/ in the repository

Pages: ``index.html`` (contents: each notebook's title, its question and its ledger
verdicts from ``figures/claims/NN.json``), one ``NN_name.html`` per executed notebook
``notebooks/NN_*.ipynb`` (code folded in ``<details>``, figures inline), and
``claims.html`` (``figures/CLAIMS.md``), linked by a bar on every page.

The notebooks save their figures with ``plotting.savefig(fig, "NN_name")`` instead
of embedding them, so a code cell that saves a figure gets that PNG (with a link to
its PDF) as an output; figures ``NN_*.png`` no cell names are appended at the end.
Images a kernel did embed are kept.

Everything is local (no CDN, no JavaScript, no MathJax: ``$...$`` stays TeX source)
and deterministic: the same inputs give byte-identical files. The committed
notebooks are rendered with the committed ``figures/`` (not ``SHLD_FIG_DIR``, which
``make test`` points at quick-run scratch output).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import sys
from pathlib import Path

import nbformat

from shld_jax import paths

MARKER = ".shld-site"  # only a folder holding this file is ever wiped by `build`
SAVEFIG = re.compile(r"""savefig\(\s*[^,()]+,\s*["']([^"'{}]+)["']""")
VERDICT_CLASS = {"supported": "ok", "refuted": "bad", "not testable here": "na"}

CSS = """
body { margin: 0; color: #1f2328;
       font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
nav.bar { background: #24292f; padding: .5rem 1rem; position: sticky; top: 0; z-index: 1; }
nav.bar a { color: #f0f3f6; text-decoration: none; margin-right: 1.2rem; }
nav.bar a.here { font-weight: 700; border-bottom: 2px solid #f0f3f6; }
main { max-width: 1100px; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
main.wide { max-width: 1700px; }
.scroll { overflow-x: auto; }
h1, h2, h3 { line-height: 1.25; }
a { color: #0969da; }
code, pre { font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
:not(pre) > code { background: #eff1f3; padding: .1em .3em; border-radius: 4px; }
pre { background: #f6f8fa; padding: .6rem .8rem; overflow-x: auto; border-radius: 6px;
      margin: .3rem 0; }
table { border-collapse: collapse; margin: .6rem 0; font-size: 14px; }
th, td { border: 1px solid #d0d7de; padding: .3rem .5rem; vertical-align: top; text-align: left; }
th { background: #f6f8fa; }
img { max-width: 100%; height: auto; }
figure { margin: .5rem 0 1rem; }
figcaption { font-size: 13px; color: #57606a; }
details.code > summary { cursor: pointer; color: #57606a; font-size: 13px; margin: .2rem 0; }
.output_stderr pre { background: #fff5f5; }
.anchor-link { visibility: hidden; margin-left: .3rem; text-decoration: none; }
h1:hover .anchor-link, h2:hover .anchor-link, h3:hover .anchor-link { visibility: visible; }
.verdict { font-weight: 600; white-space: nowrap; padding: 0 .3rem; border-radius: 4px; }
.verdict.ok { background: #dafbe1; color: #116329; }
.verdict.bad { background: #ffebe9; color: #a40e26; }
.verdict.na { background: #eaeef2; color: #424a53; }
.card { border: 1px solid #d0d7de; border-radius: 8px; padding: .2rem 1.2rem .8rem;
        margin: 1.2rem 0; }
.pager { display: flex; justify-content: space-between; margin-top: 2rem; padding-top: .8rem;
         border-top: 1px solid #d0d7de; }
.muted { color: #57606a; font-size: 14px; }
"""

FAVICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
           '<path d="M1 12 C4 2 6 2 8 8 S12 14 15 4" fill="none" stroke="#0969da" '
           'stroke-width="2"/></svg>\n')

# Code inputs fold into <details>: readers of the supplement see text, tables and
# figures; the code is one click away. No JavaScript needed.
NB_TEMPLATE = """{%- extends 'index.html.j2' -%}
{% block input_group -%}
<details class="code"><summary>code</summary>
{{ super() }}
</details>
{%- endblock input_group %}
"""


def notebooks(nb_dir: Path) -> list[Path]:
    """All ``NN_*.ipynb`` in ``nb_dir``, sorted."""
    return sorted(Path(nb_dir).glob("[0-9][0-9]_*.ipynb"))


def is_executed(nb) -> bool:
    """True when every code cell ran (the committed full render); drafts stay off the site."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    return bool(code) and all(c.get("execution_count") is not None for c in code)


def _md(text: str) -> str:
    # nbconvert's own mistune renderer: tables, code spans, heading anchors; no extra package.
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return markdown2html_mistune(text)


def describe(nb) -> tuple[str, str, str]:
    """(title, question, rest) of a notebook: its first markdown cell split after the H1 line
    and after the first paragraph (markdown strings)."""
    first = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
    lines = first.strip().splitlines()
    title = ""
    if lines and lines[0].startswith("# "):
        title, lines = lines[0][2:].strip(), lines[1:]
    paras = "\n".join(lines).strip().split("\n\n", 1)
    return title, paras[0], (paras[1] if len(paras) > 1 else "")


def load_claims(fig_dir: Path, nn: str) -> list[dict]:
    """Ledger rows of notebook ``nn`` (``<fig_dir>/claims/NN.json``); [] when it has none."""
    p = Path(fig_dir) / "claims" / f"{nn}.json"
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else []


def _num(x) -> str:
    return "–" if x is None else f"{x:.4g}"


def _verdict(v: str) -> str:
    return f'<span class="verdict {VERDICT_CLASS.get(v, "na")}">{html.escape(v)}</span>'


def claims_table(rows: list[dict]) -> str:
    """HTML table id / claim / verdict / measured / unit."""
    if not rows:
        return '<p class="muted">No ledger rows yet.</p>'
    e = html.escape
    out = ['<table class="verdicts"><thead><tr><th>id</th><th>claim</th><th>verdict</th><th>measured</th>'
           "<th>unit</th></tr></thead><tbody>"]
    for r in rows:
        out.append(f"<tr><td>{e(r.get('id', ''))}</td><td>{e(r.get('claim', ''))}</td>"
                   f"<td>{_verdict(r.get('verdict', ''))}</td><td>{_num(r.get('measured'))}</td>"
                   f"<td>{e(r.get('unit', ''))}</td></tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _figure_html(name: str) -> str:
    n = html.escape(name)
    return (f'<figure><img src="figures/{n}.png" alt="figure {n}">'
            f'<figcaption>{n} · <a href="figures/{n}.pdf">PDF</a></figcaption></figure>')


def _has_image(cell) -> bool:
    return any(k.startswith("image/") for o in cell.get("outputs", []) for k in o.get("data", {}))


def inline_figures(nb, nn: str, fig_dir: Path) -> list[str]:
    """Give each code cell that saves a figure that figure as an output; return all names shown.

    Figures ``NN_*.png`` that no cell names literally (say an f-string name) go into a
    last markdown cell so that every figure of the notebook appears on its page.
    """
    shown = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        names = SAVEFIG.findall(cell.source)
        shown += names
        if names and not _has_image(cell):
            cell.outputs.append(nbformat.v4.new_output(
                "display_data", data={"text/html": "\n".join(map(_figure_html, names))}))
    rest = [p.stem for p in sorted(Path(fig_dir).glob(f"{nn}_*.png")) if p.stem not in shown]
    if rest:
        nb.cells.append(nbformat.v4.new_markdown_cell(
            "## Further figures of this notebook\n\n" + "\n".join(map(_figure_html, rest))))
    return shown + rest


def _exporter():
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="basic", template_file="site.html.j2",
                        extra_loaders=[DictLoader({"site.html.j2": NB_TEMPLATE})],
                        exclude_input_prompt=True, exclude_output_prompt=True)


def page(title: str, body: str, nav: list[tuple[str, str]], here: str, *, wide=False) -> str:
    """A whole HTML page: head (local CSS only), navigation bar, ``body`` in <main>."""
    cur, cls = ' class="here"', ' class="wide"' if wide else ""
    links = "".join(f'<a href="{href}"{cur if href == here else ""}>{html.escape(label)}</a>'
                    for href, label in nav)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)} · shld-jax</title>\n"
        '<link rel="stylesheet" href="style.css">\n<link rel="icon" href="favicon.svg">\n'
        f'</head>\n<body>\n<nav class="bar">{links}</nav>\n<main{cls}>\n{body}\n</main>\n'
        "</body>\n</html>\n")


def _prepare_out(out: Path) -> None:
    if out.exists():
        if not (out / MARKER).exists() and any(out.iterdir()):
            raise ValueError(f"`out`: {out} is a non-empty folder not made by this builder; "
                             f"refusing to overwrite it (a site folder holds {MARKER}).")
        shutil.rmtree(out)
    (out / "figures").mkdir(parents=True)
    (out / "notebooks").mkdir()
    (out / "favicon.svg").write_text(FAVICON, encoding="utf-8")
    (out / MARKER).write_text("made by python -m shld_jax._site; wiped on every build\n")


def _copy_figures(names: list[str], fig_dir: Path, out: Path) -> tuple[list[str], list[str]]:
    copied, missing = [], []
    for name in names:
        for ext in ("png", "pdf"):
            src = fig_dir / f"{name}.{ext}"
            if src.exists():
                shutil.copyfile(src, out / "figures" / src.name)
                copied.append(src.name)
            elif ext == "png":
                missing.append(src.name)
    return copied, missing


def _notebook_body(p: Path, body: str, rows: list[dict], prev: Path | None,
                   nxt: Path | None) -> str:
    e = html.escape
    head = (f'<p class="muted">Rendered from <a href="notebooks/{e(p.name)}">{e(p.name)}</a> '
            "(executed; open it in JupyterLab with <code>make lab</code>). Code cells are "
            "folded: click “code” to show one.</p>\n<details><summary>Ledger verdicts of this "
            f"notebook</summary>\n{claims_table(rows)}\n</details>")
    back = f'<a href="{prev.stem}.html">← {e(prev.stem)}</a>' if prev else "<span></span>"
    fwd = (f'<a href="{nxt.stem}.html">{e(nxt.stem)} →</a>' if nxt
           else '<a href="claims.html">Claims ledger →</a>')
    return f'{head}\n{body}\n<div class="pager">{back}{fwd}</div>'


def _card(p: Path, title: str, question: str, rest: str, rows: list[dict]) -> str:
    more = f"<details><summary>more</summary>\n{_md(rest)}\n</details>" if rest.strip() else ""
    return (f'<section class="card" id="nb-{p.stem[:2]}">\n'
            f'<h2><a href="{p.stem}.html">{html.escape(title)}</a></h2>\n'
            f"{_md(question)}\n{more}\n<h3>Verdicts</h3>\n{claims_table(rows)}\n</section>")


def _index_body(cards: list[str], rows: list[dict], drafts: list[str]) -> str:
    counts = ", ".join(f"{sum(r.get('verdict') == v for r in rows)} {v}" for v in VERDICT_CLASS)
    body = [
        "<h1>shld-jax: testing the claims of the seed documents</h1>",
        "<p>A JAX research compendium. Each notebook below asks one question of the seed "
        "documents, measures it and records a verdict computed by a rule written in the "
        f'notebook. The <a href="claims.html">claims ledger</a> collects them all '
        f"({len(rows)} claims: {counts}).</p>",
        *(cards or ['<p class="muted">No executed notebooks yet.</p>']),
    ]
    if drafts:
        body.append('<p class="muted">Not executed yet, so not rendered: '
                    f'{html.escape(", ".join(drafts))} (<code>make figures NB=NN</code> runs '
                    "one).</p>")
    return "\n".join(body)


def _ledger_body(fig_dir: Path) -> str:
    ledger = fig_dir / "CLAIMS.md"
    if not ledger.exists():
        return '<h1>Claims ledger</h1>\n<p class="muted">No ledger yet.</p>'
    text = _md(ledger.read_text(encoding="utf-8"))
    for v in VERDICT_CLASS:
        text = text.replace(f"<strong>{v}</strong>", _verdict(v))
    text = text.replace("<table>", '<div class="scroll"><table>')
    return text.replace("</table>", "</table></div>")


def build(out: Path | str | None = None, *, nb_dir: Path | None = None,
          fig_dir: Path | None = None) -> dict:
    """Render the site into ``out`` (default ``site/``); return lists of what it did:
    ``pages``, ``figures`` (files copied), ``missing`` (figures shown but absent from
    ``fig_dir``: their ``<img>`` stays, so the browser test reports them broken) and
    ``drafts`` (notebooks left off because not executed).
    """
    from pygments.formatters import HtmlFormatter

    root = paths.repo_root()
    out = Path(out) if out is not None else root / "site"
    nb_dir = Path(nb_dir) if nb_dir is not None else root / "notebooks"
    fig_dir = Path(fig_dir) if fig_dir is not None else root / "figures"
    _prepare_out(out)
    css = CSS.lstrip() + HtmlFormatter(style="default").get_style_defs(".highlight") + "\n"
    (out / "style.css").write_text(css, encoding="utf-8")

    loaded, drafts = [], []
    for p in notebooks(nb_dir):
        nb = nbformat.read(p, as_version=4)
        if not is_executed(nb):
            drafts.append(p.name)
            continue
        for i, c in enumerate(nb.cells):
            c["id"] = f"cell-{i}"  # nbformat invents random ids for id-less cells
        loaded.append((p, nb))
    nbs = [p for p, _ in loaded]
    nav = [("index.html", "Contents"), *[(f"{p.stem}.html", p.stem.replace("_", " ")) for p in nbs],
           ("claims.html", "Claims ledger")]

    exporter = _exporter()
    figs, missing, cards, all_rows = [], [], [], []
    for k, (p, nb) in enumerate(loaded):
        title, question, rest = describe(nb)
        title = title or p.stem
        rows = load_claims(fig_dir, p.stem[:2])
        all_rows += rows
        copied, absent = _copy_figures(inline_figures(nb, p.stem[:2], fig_dir), fig_dir, out)
        figs, missing = figs + copied, missing + absent
        shutil.copyfile(p, out / "notebooks" / p.name)
        body, _ = exporter.from_notebook_node(nb)
        body = _notebook_body(p, body, rows, nbs[k - 1] if k else None,
                              nbs[k + 1] if k + 1 < len(nbs) else None)
        (out / f"{p.stem}.html").write_text(page(title, body, nav, f"{p.stem}.html"),
                                            encoding="utf-8")
        cards.append(_card(p, title, question, rest, rows))

    index = page("Contents", _index_body(cards, all_rows, drafts), nav, "index.html")
    (out / "index.html").write_text(index, encoding="utf-8")
    ledger = page("Claims ledger", _ledger_body(fig_dir), nav, "claims.html", wide=True)
    (out / "claims.html").write_text(ledger, encoding="utf-8")
    return {"pages": [h for h, _ in nav], "figures": sorted(set(figs)),
            "missing": sorted(set(missing)), "drafts": drafts}


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    out = Path(argv[0]) if argv else paths.repo_root() / "site"
    res = build(out)
    print(f"[site] {len(res['pages'])} pages, {len(res['figures'])} figure files -> "
          f"{out / 'index.html'}")
    for d in res["drafts"]:
        print(f"[site] skipped {d}: not executed (make figures NB={d[:2]})", file=sys.stderr)
    for m in res["missing"]:
        print(f"[site] WARNING: figure {m} is shown but missing from the figure folder",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
