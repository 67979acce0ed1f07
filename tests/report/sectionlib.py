"""What the tests of the report's device sections (test_io.py, test_net.py)
share: rendering a run with reports/hvbench_report.py and reading the page
back (Page), running a fixture generator, editing a generated run, a cache
of rendered pages, and the check that a generator still writes its
committed fixture."""

import csv
import html.parser
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(ROOT, "reports", "hvbench_report.py")
RUN_FILES = ("meta.csv", "samples.csv", "counters.csv", "exits.csv")


class Page(html.parser.HTMLParser):
    """ids, links and every element with data-* attributes of report.html."""

    def __init__(self, text):
        super().__init__()
        self.ids, self.links, self.cells = set(), [], []
        self.text = text
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a":
            self.links.append(a.get("href", ""))
        if any(k.startswith("data-") for k in a):
            self.cells.append(a)

    def find(self, **want):
        return [c for c in self.cells
                if all(c.get("data-" + k.replace("_", "-")) == v for k, v in want.items())]

    def value(self, **want):
        hits = [c for c in self.find(**want) if "data-value" in c]
        if not hits:
            raise AssertionError(f"no cell with a value matches {want}")
        values = {float(c["data-value"]) for c in hits}
        if len(values) != 1:
            raise AssertionError(f"cells disagree on {want}: {sorted(values)}")
        return values.pop()

    def section(self, start_id, end_id):
        """The HTML between two headings (a section's own text)."""
        i = self.text.index(f'id="{start_id}"')
        return self.text[i:self.text.index(f'id="{end_id}"', i)]


def generate(gen, out, *args):
    """Run the fixture generator gen into out; the run directory it wrote."""
    p = subprocess.run([sys.executable, gen, "--out", out] + list(args), capture_output=True,
                       text=True, check=True)
    return p.stdout.strip()


def render(out, *dirs, plots=False):
    flags = [] if plots else ["--no-plots"]
    p = subprocess.run([sys.executable, SCRIPT, "--out", out] + flags + list(dirs),
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise AssertionError(f"report failed ({p.returncode}): {p.stderr}")
    with open(os.path.join(out, "report.html"), encoding="utf-8") as f:
        page = Page(f.read())
    with open(os.path.join(out, "summary.md"), encoding="utf-8") as f:
        page.md = f.read()
    return page


def drop_rows(d, keep):
    """Keep the header of d/samples.csv and the lines keep(line) accepts."""
    path = os.path.join(d, "samples.csv")
    with open(path, encoding="utf-8") as f:
        lines = [l for i, l in enumerate(f) if i == 0 or keep(l)]
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(lines)


def csv_rows(d, name):
    with open(os.path.join(d, name), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def assert_reproduces(test, gen, fixture):
    """gen without options writes exactly the committed fixture (not stale)."""
    with tempfile.TemporaryDirectory() as tmp:
        d = generate(gen, tmp)
        for name in RUN_FILES:
            with open(os.path.join(d, name), "rb") as a, open(os.path.join(fixture, name),
                                                              "rb") as b:
                test.assertEqual(a.read(), b.read(), name)


class Rendered:
    """Each report rendered once, shared by the tests: a subclass names its
    temporary directory (prefix) and renders a page by name (make)."""
    prefix = "hvb-section-test-"
    tmp = None

    @classmethod
    def make(cls, name, out):
        raise NotImplementedError

    @classmethod
    def get(cls, name):
        if cls.tmp is None:
            cls.tmp = tempfile.mkdtemp(prefix=cls.prefix)
            cls.pages = {}
        if name not in cls.pages:
            cls.pages[name] = cls.make(name, os.path.join(cls.tmp, "out-" + name))
        return cls.pages[name]

    @classmethod
    def cleanup(cls):
        if cls.tmp:
            shutil.rmtree(cls.tmp, ignore_errors=True)
