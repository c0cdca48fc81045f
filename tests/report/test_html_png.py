"""The HTML report (self-contained, every section) and the PNG plots."""

from __future__ import annotations

import importlib.util
import struct
from html.parser import HTMLParser
from pathlib import Path

import optuna
import pytest

import sweep
from sweep.report import PLOTS, collect, html_report, png_report
from tests.conftest import REPO, REQUIRE_SERVERS
from tests.report.conftest import Sweeps

SECTIONS = ["summary", "ranked", "models", *[key for key, _ in PLOTS]]


class _Page(HTMLParser):
    """Collects section ids, plot divs, scripts (inline sizes and src) and table headers."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.plots: list[str] = []
        self.script_src: list[str] = []
        self.scripts: list[int] = []
        self.headers: list[str] = []
        self._in: str | None = None
        self._buffer: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section" and a.get("id"):
            self.sections.append(str(a["id"]))
        if tag == "div" and "plotly-graph-div" in (a.get("class") or ""):
            self.plots.append(str(a.get("id")))
        if tag in ("script", "link", "img") and (a.get("src") or a.get("href")):
            self.script_src.append(str(a.get("src") or a.get("href")))
        if tag in ("script", "th"):
            self._in, self._buffer = tag, []

    def handle_data(self, data: str) -> None:
        if self._in:
            self._buffer.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in == "script":
            self.scripts.append(sum(len(b) for b in self._buffer))
        if tag == self._in == "th":
            self.headers.append("".join(self._buffer))
        if tag == self._in:
            self._in = None


def _parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    page.close()
    return page


@pytest.fixture(scope="module")
def binary_html(sweeps: Sweeps, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("html") / "moons.html"
    return sweep.open_study(sweeps.binary, sweeps.url).write_html(path)


def test_html_report_has_every_section_and_is_self_contained(binary_html: Path) -> None:
    text = binary_html.read_text(encoding="utf-8")
    page = _parse(text)
    assert page.sections == SECTIONS
    assert page.plots == [f"plot-{key}" for key, _ in PLOTS]
    # plotly.js inlined once (megabytes), each figure a small script; nothing fetched.
    big = [n for n in page.scripts if n > 1_000_000]
    assert len(big) == 1 and text.count("plotly.js v") <= 2
    assert page.script_src == []  # no <script src>, <link href> or <img src> at all
    for header in ("val accuracy", "test accuracy", "train accuracy", "artifact", "pruned"):
        assert header in page.headers, header


def test_html_report_lists_the_kept_models_with_test_metrics(
    sweeps: Sweeps, binary_html: Path
) -> None:
    study = sweep.open_study(sweeps.binary, sweeps.url)
    text = binary_html.read_text(encoding="utf-8")
    models = text.split('id="models"', 1)[1].split("</section>", 1)[0]
    for number, artifact in study.saved_models().items():
        assert artifact in models
        assert f"{study.trial(number).metrics['test_accuracy']:.4f}" in models


def test_html_report_of_a_regression_study(sweeps: Sweeps) -> None:
    report = collect(
        optuna.load_study(study_name=sweeps.regression, storage=sweeps.url), storage=sweeps.url
    )
    page = _parse(html_report(report))
    assert page.sections == SECTIONS
    assert "val mse" in page.headers and "test mse" in page.headers


def test_html_report_of_10000_trials_builds_and_says_what_it_sampled(
    big_study: optuna.Study,
) -> None:
    report = collect(big_study)
    assert len(report.frame) == 10_000
    text = html_report(report, curves=5)
    page = _parse(text)
    assert page.sections == SECTIONS and len(page.plots) == len(PLOTS)
    done = sum(t.state == optuna.trial.TrialState.COMPLETE for t in big_study.trials)
    assert done > 1_000 and f"1,000 of {done:,} complete trials" in text
    assert "Learning curves of the top 5 trials" in text


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", head[16:24])


def test_png_report_writes_every_plot(sweeps: Sweeps, tmp_path: Path) -> None:
    import matplotlib.image

    report = sweep.open_study(sweeps.binary, sweeps.url).report_data()
    written = png_report(report, tmp_path / "png")
    assert list(written) == [key for key, _ in PLOTS]
    for key, path in written.items():
        assert isinstance(path, Path) and path == tmp_path / "png" / f"{key}.png"
        width, height = _png_size(path)
        assert width >= 800 and height >= 500 and path.stat().st_size > 10_000
        pixels = matplotlib.image.imread(path)
        assert pixels.std() > 0.01, key  # not a blank canvas


def test_a_study_without_complete_trials_reports_what_is_missing(tmp_path: Path) -> None:
    study = optuna.create_study(study_name="empty")
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL))
    report = collect(study)
    text = html_report(report)
    assert _parse(text).sections == SECTIONS
    assert "No plot: no complete trial yet." in text
    written = png_report(report, tmp_path)
    assert all(isinstance(v, str) for v in written.values())


def _checker():
    path = REPO / "scripts" / "check_report_html.py"
    spec = importlib.util.spec_from_file_location("check_report_html", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_html_report_renders_in_headless_chromium(binary_html: Path, tmp_path: Path) -> None:
    checker = _checker()
    chromium = checker.find_chromium()
    if chromium is None:
        reason = "no Chromium on this machine (apt-get install -y chromium)"
        if REQUIRE_SERVERS:  # CI installs it (.ci/run): its absence there is a failure
            pytest.fail(f"{reason}; SWEEP_REQUIRE_SERVERS is set")
        pytest.skip(reason)
    shot = tmp_path / "report.png"
    result = checker.check(binary_html, shot, chromium=chromium)
    assert result["problems"] == [], result["problems"]
    assert result["errors"] == []
    assert [p["id"] for p in result["plots"]] == [f"plot-{key}" for key, _ in PLOTS]
    assert all(p["svg"] and p["width"] > 300 and p["height"] > 200 for p in result["plots"])
    width, height = _png_size(shot)
    assert width == checker.WIDTH and height > 2000
    # The check is not vacuous: a script error and a plot that never drew are caught.
    broken = tmp_path / "broken.html"
    broken.write_text(
        binary_html.read_text(encoding="utf-8").replace(
            "</body>",
            '<script>notDefined();</script><div class="plotly-graph-div" id="plot-x"></div></body>',
        ),
        encoding="utf-8",
    )
    problems = checker.check(broken, chromium=chromium)["problems"]
    assert any("notDefined" in p for p in problems)
    assert any(p.startswith("plot plot-x did not render") for p in problems)


def test_a_study_sweep_did_not_make_still_gets_a_report(tmp_path: Path) -> None:
    study = optuna.create_study(study_name="plain", sampler=optuna.samplers.RandomSampler(0))
    study.optimize(
        lambda t: (t.suggest_float("x", -2, 2) - 1) ** 2 + t.suggest_int("n", 1, 4), n_trials=12
    )
    report = collect(study)
    text = html_report(report)
    assert _parse(text).sections == SECTIONS
    assert "Objective against n, x" in text
    written = png_report(report, tmp_path)
    assert isinstance(written["slice"], Path) and isinstance(written["history"], Path)
    assert written["depth_width"] == "the trials record no network widths"


def test_a_plot_optuna_refuses_leaves_a_note_and_the_rest_of_the_report(tmp_path: Path) -> None:
    study = optuna.create_study(study_name="flat", sampler=optuna.samplers.RandomSampler(0))
    study.optimize(lambda t: 0.0 * t.suggest_float("x", 0, 1) + 1.0, n_trials=6)
    report = collect(study)
    text = html_report(report)
    assert _parse(text).sections == SECTIONS
    importances = text.split('id="importances"', 1)[1].split("</section>", 1)[0]
    assert "No plot: Encountered zero total variance" in importances
    written = png_report(report, tmp_path)
    assert isinstance(written["history"], Path) and isinstance(written["importances"], str)
