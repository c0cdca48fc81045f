#!/usr/bin/env python3
"""Open an HTML report in headless Chromium: no JavaScript errors, every plot drawn,
and a screenshot of the whole page.

    python scripts/check_report_html.py report.html [--screenshot report.png]

Chromium runs without network, GPU or sandbox (so it also works as root in a
container). A probe script, injected into a temporary copy of the report before
anything else runs, records uncaught errors, rejected promises and
``console.error`` calls, waits for the page to settle, and writes what it found
(per plot: its SVG layers, drawn traces and canvases) into the DOM, which
Chromium prints with ``--dump-dom``. The screenshot is taken of the unmodified
report. Exit code 0 when the report passed, 1 when it did not, 2 when Chromium
is missing.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    # The parallel coordinates draw with WebGL; without a GPU Chromium needs this
    # opt-in to use its software renderer (the report is a trusted local file).
    "--enable-unsafe-swiftshader",
]
WIDTH = 1300
MAX_HEIGHT = 16_000

PROBE = """<script>
(function () {
  var errors = [];
  window.addEventListener("error", function (e) {
    var where = e.filename ? " at " + e.filename + ":" + e.lineno : "";
    errors.push("error: " + (e.message || String(e)) + where);
  });
  window.addEventListener("unhandledrejection", function (e) {
    errors.push("unhandled rejection: " + String(e.reason));
  });
  var consoleError = console.error;
  console.error = function () {
    errors.push("console.error: " + Array.prototype.join.call(arguments, " "));
    return consoleError.apply(console, arguments);
  };
  function count(root, selector) { return root.querySelectorAll(selector).length; }
  window.addEventListener("load", function () {
    setTimeout(function () {
      var divs = document.querySelectorAll(".plotly-graph-div");
      var plots = Array.prototype.map.call(divs, function (div) {
        var box = div.getBoundingClientRect();
        return {
          id: div.id,
          rendered: div.classList.contains("js-plotly-plot"),
          svg: count(div, "svg.main-svg"),
          traces: count(div, "g.trace") + count(div, "g.hm") + count(div, "g.parcoords"),
          canvases: count(div, "canvas"),
          width: Math.round(box.width),
          height: Math.round(box.height)
        };
      });
      var out = document.createElement("pre");
      out.id = "sweep-check";
      out.textContent = JSON.stringify({
        errors: errors,
        plots: plots,
        sections: Array.prototype.map.call(
          document.querySelectorAll("section[id]"), function (s) { return s.id; }),
        height: document.documentElement.scrollHeight
      });
      document.body.appendChild(out);
    }, 3000);
  });
})();
</script>"""


def find_chromium(explicit: str | None = None) -> str | None:
    """The Chromium binary: ``explicit``, ``$CHROMIUM``, or the first on the PATH."""
    for name in (explicit, os.environ.get("CHROMIUM"), *CANDIDATES):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _run(chromium: str, args: list[str], profile: str, timeout: float) -> str:
    out = subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"chromium exited with {out.returncode}: {last}")
    return out.stdout


def check(
    report: Path, screenshot: Path | None = None, *, chromium: str, timeout: float = 120
) -> dict[str, Any]:
    """Load ``report`` in headless Chromium and return what the probe saw.

    Returns:
        ``errors`` (JavaScript errors), ``plots`` (per plot: id, rendered, svg, traces,
        canvases, width, height), ``sections`` (ids), ``height`` (page height in
        pixels), and ``problems``: a list of what is wrong, empty when the report passed.
    """
    text = report.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="sweep-check-") as tmp:
        probed = Path(tmp) / "probed.html"
        probed.write_text(text.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
        dom = _run(
            chromium,
            [
                f"--window-size={WIDTH},1000",
                "--virtual-time-budget=20000",
                "--dump-dom",
                probed.as_uri(),
            ],
            str(Path(tmp) / "profile-dom"),
            timeout,
        )
        found = re.search(r'<pre id="sweep-check">(.*?)</pre>', dom, re.S)
        if found is None:
            raise RuntimeError("the probe did not report: the page did not finish loading")
        result: dict[str, Any] = json.loads(html.unescape(found.group(1)))
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            height = min(int(result["height"]) + 40, MAX_HEIGHT)
            _run(
                chromium,
                [
                    f"--window-size={WIDTH},{height}",
                    "--virtual-time-budget=20000",
                    f"--screenshot={screenshot.resolve()}",
                    report.resolve().as_uri(),
                ],
                str(Path(tmp) / "profile-shot"),
                timeout,
            )
    problems = list(result["errors"])
    if not result["plots"]:
        problems.append("no plot in the page")
    for plot in result["plots"]:
        if not plot["rendered"] or not plot["svg"] or not (plot["traces"] or plot["canvases"]):
            problems.append(f"plot {plot['id']} did not render: {plot}")
    result["problems"] = problems
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--screenshot", type=Path, help="write a full-page PNG here")
    parser.add_argument("--chromium", help="the browser binary (default: $CHROMIUM or PATH)")
    args = parser.parse_args(argv)
    chromium = find_chromium(args.chromium)
    if chromium is None:
        print("error: no Chromium found (apt-get install -y chromium)", file=sys.stderr)
        return 2
    result = check(args.report, args.screenshot, chromium=chromium)
    for plot in result["plots"]:
        print(
            f"{plot['id']}: svg {plot['svg']}, traces {plot['traces']}, "
            f"canvases {plot['canvases']}, {plot['width']}x{plot['height']} px"
        )
    print(f"sections: {', '.join(result['sections'])}; page height {result['height']} px")
    if args.screenshot:
        print(f"screenshot: {args.screenshot}")
    for problem in result["problems"]:
        print(f"problem: {problem}", file=sys.stderr)
    print("ok" if not result["problems"] else f"{len(result['problems'])} problem(s)")
    return 0 if not result["problems"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
