"""Markup helpers every report section shares (HTML escaping, number
formats, status badges, figures, Markdown tables).  A module of its own so
that sections in their own files (io.py) and render.py import it alike,
and neither imports the other."""

import base64
import html

EMU_TEXT = "emulation: functional only, not performance"
LOWER = "lower is better"
HIGHER = "higher is better"


def esc(x):
    return html.escape(str(x), quote=True)


def fmt(x, digits=4):
    """Human number: 4 significant digits, thousands separators for large values."""
    if x is None:
        return "—"
    ax = abs(x)
    if ax >= 10000:
        return f"{x:,.0f}"
    if ax == 0:
        return "0"
    text = f"{x:.{digits}g}"
    if "e" in text:
        return f"{x:.3e}"
    return text


def fmt_ratio(x):
    return "—" if x is None else (f"{x:.3f}×" if x < 100 else f"{x:.1f}×")


def fmt_pct(x):
    return "—" if x is None else f"{x:+.1f} %"


def fmt_ci(ci, f=fmt):
    return "" if not ci else f"[{f(ci[0])}, {f(ci[1])}]"


def direction(better):
    return {"lower": LOWER, "higher": HIGHER}.get(better, "direction unknown")


def arrow(better):
    return {"lower": "↓", "higher": "↑"}.get(better, "")


def status_badge(status, title=""):
    t = f' title="{esc(title)}"' if title else ""
    return f'<span class="st st-{esc(status)}"{t}>{esc(status)}</span>'


def runner_head(s):
    """Series name for a table header, with its host (when the runs come from several)
    and the emulation label where they apply."""
    out = esc(s.label)
    if getattr(s, "host", None):  # runs of several hosts (hosts.py): say whose
        out += f'<br><span class="dir"{data_attrs(host=s.host)}>@ {esc(s.host)}</span>'
    if s.emulated:
        out += f'<br><span class="emu" title="{esc(s.emulated)}">{EMU_TEXT}</span>'
    return out


def data_attrs(**kw):
    return "".join(f' data-{k.replace("_", "-")}="{esc(v)}"' for k, v in kw.items() if v is not None)


def figure(plotter, name, caption, missing="no data for this plot"):
    """An inlined PNG (the page stays one file) with links to the PNG/SVG beside it."""
    if plotter is None:
        return f'<div class="noplot">Plot {esc(name)} not drawn: plots disabled.</div>'
    if name in plotter.made:
        paths = plotter.made[name]
        with open(paths["png"], "rb") as f:
            b64 = base64.b64encode(f.read()).decode("ascii")
        links = (f'<a href="plots/{esc(name)}.svg">SVG</a> · <a href="plots/{esc(name)}.png">PNG</a>'
                 f' · <a href="plots/{esc(name)}.gp">gnuplot script</a>')
        return (f'<figure id="plot-{esc(name)}"><img alt="{esc(caption)}" '
                f'src="data:image/png;base64,{b64}"><figcaption>{caption} ({links})'
                f'</figcaption></figure>')
    why = plotter.failed.get(name, plotter.why_not or missing)
    return f'<div class="noplot" id="plot-{esc(name)}">Plot {esc(name)} not drawn: {esc(why)}</div>'


def md_cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def md_table(head, rows):
    lines = ["| " + " | ".join(md_cell(h) for h in head) + " |",
             "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(md_cell(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)
