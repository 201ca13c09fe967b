#!/usr/bin/env python3
"""Checks a wsdedup HTML report against the JSON document of the same run.

usage: report_page_check.py PAGE.html DOC.json DOM.html DOM_EXACT.html

PAGE.html is the file wsdedup wrote; DOM*.html are what headless Chromium serialised after the
page's script ran (DOM_EXACT with #bytes in the URL, so byte and count cells show exact values).
Checks: the embedded JSON equals DOC.json; the script ran without error; there are no script
elements beyond the page's own three; every number cell names a JSON pointer whose value in
DOC.json equals what the cell shows (exactly in DOM_EXACT, to the shown precision otherwise).
Prints a summary line and exits 1 with the reasons on any mismatch.
"""
import json
import re
import sys
from html.parser import HTMLParser

UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40, "PiB": 1 << 50, "EiB": 1 << 60}


class Collector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.cells = []          # (pointer, kind, text)
        self.scripts = []        # (attrs, text)
        self.root_attrs = {}
        self.body_attrs = {}
        self._cell = None
        self._script = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.root_attrs = a
        elif tag == "body":
            self.body_attrs = a
        elif tag == "td" and "data-key" in a:
            self._cell = [a["data-key"], a.get("data-kind", ""), ""]
        elif tag == "script":
            self._script = [a, ""]

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.cells.append(tuple(self._cell))
            self._cell = None
        elif tag == "script" and self._script is not None:
            self.scripts.append(tuple(self._script))
            self._script = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[2] += data
        if self._script is not None:
            self._script[1] += data


def parse(path):
    c = Collector()
    with open(path, encoding="utf-8") as f:
        c.feed(f.read())
    c.close()
    return c


def resolve(doc, pointer):
    v = doc
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        v = v[int(token)] if isinstance(v, list) else v[token]
    return v


def human_ok(text, value, kind):
    text = text.strip()
    if kind == "count":
        return text == f"{int(value):,}"
    if kind == "ratio":
        return text == f"{value:.2f}"
    if kind == "bytes":
        m = re.fullmatch(r"(-?)([0-9.]+) (B|[KMGTPE]iB)", text)
        if not m:
            return False
        shown = float(m.group(2)) * UNITS[m.group(3)] * (-1 if m.group(1) else 1)
        digits = len(m.group(2).split(".")[1]) if "." in m.group(2) else 0
        tolerance = 0.5 * 10 ** -digits * UNITS[m.group(3)]
        return abs(shown - value) <= tolerance + 1e-9
    return True


def main():
    page_path, doc_path, dom_path, dom_exact_path = sys.argv[1:5]
    with open(doc_path, encoding="utf-8") as f:
        doc = json.load(f)
    problems = []
    page = parse(page_path)
    data = [s for s in page.scripts if s[0].get("type") == "application/json"]
    if len(data) != 1:
        problems.append(f"{len(data)} embedded JSON blocks")
    elif json.loads(data[0][1]) != doc:
        problems.append("embedded JSON differs from the --json document")
    if len(page.scripts) != 3:
        problems.append(f"{len(page.scripts)} script elements in the page (3 expected: a name broke out?)")
    checked = 0
    for path, exact in ((dom_path, False), (dom_exact_path, True)):
        dom = parse(path)
        errors = dom.root_attrs.get("data-js-errors")
        if errors:
            problems.append(f"{path}: script errors: {errors}")
        if not dom.body_attrs.get("data-ready"):
            problems.append(f"{path}: the page script did not finish (no data-ready)")
        elif int(dom.body_attrs["data-ready"]) != len(dom.cells):
            problems.append(f"{path}: script saw {dom.body_attrs['data-ready']} cells, DOM has {len(dom.cells)}")
        if not dom.cells:
            problems.append(f"{path}: no number cells")
        for pointer, kind, text in dom.cells:
            try:
                value = resolve(doc, pointer)
            except (KeyError, IndexError, ValueError, TypeError):
                problems.append(f"{path}: {pointer} is not in the JSON")
                continue
            if exact and kind in ("bytes", "count"):
                ok = text.strip() == str(value)
            else:
                ok = human_ok(text, value, kind)
            if not ok:
                problems.append(f"{path}: {pointer} shows {text!r}, JSON has {value!r} ({kind})")
            checked += 1
    if problems:
        print("\n".join(problems[:40]))
        sys.exit(1)
    print(f"ok: {checked} numbers match the JSON")


if __name__ == "__main__":
    main()
