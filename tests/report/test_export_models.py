"""Kept models exported for deployment (TorchScript, ONNX, a state dict): each file, loaded
back on its own, gives the study's predictions for the raw rows of the test split."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

import sweep
from sweep.api import SweepStudy
from sweep.data import load_data
from sweep.errors import ModelError, OutputError
from tests.conftest import assert_one_line_error, run_cli
from tests.report.conftest import Sweeps

# Loading a TorchScript export back is what a deployment does, deprecated or not.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")

# Iris (multi-class), one trial per activation: the grid over the one searched list.
ACTIVATIONS_STUDY = """
[study]
name = "iris"
trials = 4
seed = 0
sampler = "grid"
pruner = "none"
keep_models = 4

[data]
source = "iris"

[train]
epochs = 4

[space]
widths = [8, 5]
activation = ["relu", "tanh", "split", "sum"]
split_fraction = 0.4
optimizer = "adam"
lr = 0.02
batch_size = 32
"""


@dataclass(frozen=True)
class Task:
    study: SweepStudy
    x: np.ndarray  # the test split's rows, in the data's own units, float32


def _task(name: str, url: str) -> Task:
    study = sweep.open_study(name, url)
    assert study.spec is not None
    data = load_data(study.spec.data)
    raw = data.x_scaling.invert(data.x_test).numpy().astype(np.float32)
    return Task(study, raw)


@pytest.fixture(scope="module")
def tasks(sweeps: Sweeps) -> dict[str, Task]:
    """The binary and regression studies every report test shares, and the iris one."""
    path = sweeps.directory / "iris.toml"
    if not path.exists():
        path.write_text(ACTIVATIONS_STUDY)
        sweep.run_study(sweep.load_spec(path), storage=sweeps.url, display="none")
    return {
        "binary": _task(sweeps.binary, sweeps.url),
        "multiclass": _task("iris", sweeps.url),
        "regression": _task(sweeps.regression, sweeps.url),
    }


def needs(fmt: str) -> None:
    """Skip an ONNX export where the onnx package (sweep[onnx]) is not installed."""
    if fmt == "onnx":
        pytest.importorskip("onnx", reason="onnx is not installed (pip install 'sweep[onnx]')")


def run_export(path: Path, fmt: str, x: np.ndarray) -> np.ndarray:
    """The exported file's outputs for rows ``x``, loaded the way a deployment would."""
    if fmt == "onnx":
        ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return session.run(None, {"x": x})[0]
    model = torch.jit.load(path) if fmt == "torchscript" else sweep.load_export(path)
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def assert_predicts_as_the_study(task: Task, path: Path, fmt: str, trial: int | None) -> None:
    study, x = task.study, task.x
    got = run_export(path, fmt, x)
    assert got.dtype == np.float32 and got.shape[0] == len(x)
    np.testing.assert_allclose(run_export(path, fmt, x[:1]), got[:1], rtol=1e-6, atol=1e-6)
    want = study.predict(x, trial=trial)
    if study.predictor(trial).task == "regression":
        assert got.shape == (len(x), study.predictor(trial).n_outputs)
        np.testing.assert_allclose(got, want.reshape(len(x), -1), rtol=1e-5, atol=1e-5)
        return
    np.testing.assert_allclose(got, study.predict_proba(x, trial=trial), rtol=1e-5, atol=1e-6)
    classes = np.asarray(study.predictor(trial).classes)
    np.testing.assert_array_equal(classes[got.argmax(axis=1)], want)


def _metadata(path: Path, fmt: str) -> dict:
    if fmt == "torchscript":
        extra = {"sweep.json": ""}
        torch.jit.load(path, _extra_files=extra)
        return json.loads(extra["sweep.json"])
    if fmt == "onnx":
        onnx = pytest.importorskip("onnx", reason="onnx is not installed")
        props = onnx.load(str(path)).metadata_props
        return {p.key: json.loads(p.value) for p in props}
    return torch.load(path, weights_only=True)


CLI_EXPORTS = [("binary", "torchscript"), ("multiclass", "onnx"), ("regression", "state-dict")]


@pytest.fixture(scope="module")
def cli_exports(tasks: dict[str, Task], sweeps: Sweeps, tmp_path_factory: pytest.TempPathFactory):
    """``sweep export`` run once per format (a task each), the three at the same time."""
    out = tmp_path_factory.mktemp("exports")

    def export(task: str, fmt: str):
        path = out / f"{task}.{fmt}"
        name = tasks[task].study.name
        args = ("export", name, "--format", fmt, "--output", str(path), "--storage", sweeps.url)
        return path, run_cli(*args)

    with ThreadPoolExecutor(len(CLI_EXPORTS)) as pool:
        done = {key: pool.submit(export, *key) for key in CLI_EXPORTS}
        return {key: future.result() for key, future in done.items()}


@pytest.mark.parametrize(("task", "fmt"), CLI_EXPORTS)
def test_the_cli_exports_a_file_that_predicts_as_the_study(
    tasks: dict[str, Task], cli_exports, task: str, fmt: str
) -> None:
    needs(fmt)
    path, out = cli_exports[task, fmt]
    assert out.returncode == 0, out.stderr
    study = tasks[task].study
    assert out.stdout.startswith(f"wrote {path} ({fmt}, trial {study.best.number} of ")
    assert out.stderr == ""  # torch's deprecation notices are not the user's to read
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []
    assert_predicts_as_the_study(tasks[task], path, fmt, None)
    meta = _metadata(path, fmt)
    predictor = study.predictor()
    assert meta["feature_names"] == predictor.feature_names
    assert meta["classes"] == predictor.classes and meta["trial"] == study.best.number
    assert meta["outputs"] == ("values" if task == "regression" else "probabilities")


@pytest.mark.parametrize("fmt", ["torchscript", "onnx", "state-dict"])
@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_every_format_of_every_task_predicts_as_the_study(
    tasks: dict[str, Task], tmp_path: Path, task: str, fmt: str
) -> None:
    needs(fmt)
    study = tasks[task].study
    trial = max(study.saved_models())  # not always the best: --trial is honoured
    path = study.export(tmp_path / "model", format=fmt, trial=trial)
    assert path == tmp_path / "model" and [p.name for p in tmp_path.iterdir()] == ["model"]
    assert_predicts_as_the_study(tasks[task], path, fmt, trial)


@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
def test_every_activation_exports(tasks: dict[str, Task], tmp_path: Path, fmt: str) -> None:
    needs(fmt)
    study = tasks["multiclass"].study
    kept = study.saved_models()
    by_activation = {study.trial(n).config.activation: n for n in kept}
    assert sorted(by_activation) == ["relu", "split", "sum", "tanh"]
    assert study.checkpoint(by_activation["split"]).config.split_fraction == 0.4
    for activation, trial in by_activation.items():
        path = study.export(tmp_path / f"{activation}.{fmt}", format=fmt, trial=trial)
        assert_predicts_as_the_study(tasks["multiclass"], path, fmt, trial)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
def test_exports_moved_to_the_gpu_predict_as_on_the_cpu(
    tasks: dict[str, Task], tmp_path: Path
) -> None:
    task = tasks["regression"]
    x = torch.from_numpy(task.x)
    for fmt, load in (("torchscript", torch.jit.load), ("state-dict", sweep.load_export)):
        model = load(task.study.export(tmp_path / fmt, format=fmt))
        with torch.no_grad():
            want = model(x)
            got = model.to("cuda")(x.to("cuda")).cpu()
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_a_state_dict_export_holds_what_rebuilds_the_model(
    tasks: dict[str, Task], tmp_path: Path
) -> None:
    study = tasks["regression"].study
    path = study.export(tmp_path / "reg.pt", format="state-dict")
    raw = torch.load(path, weights_only=True)
    ckpt = study.checkpoint()
    assert raw["config"]["widths"] == list(ckpt.config.widths)
    assert raw["config"]["activation"] == ckpt.config.activation
    assert set(raw["state_dict"]) == set(study.model().state_dict())
    assert torch.equal(raw["y_std"], ckpt.y_scaling.std) and float(raw["y_std"][0]) != 1.0
    model = sweep.load_export(path)
    assert isinstance(model, torch.nn.Module) and not model.training
    assert all(not p.requires_grad for p in model.parameters())


def test_load_export_refuses_what_is_not_a_state_dict_export(
    tasks: dict[str, Task], tmp_path: Path
) -> None:
    study = tasks["binary"].study
    script = study.export(tmp_path / "m.ts", format="torchscript")
    torch.save(study.checkpoint().to_dict(), tmp_path / "ckpt.pt")
    for path, needle in [
        (script, "not a sweep state-dict export (TorchScript exports load with torch.jit.load)"),
        (tmp_path / "ckpt.pt", "ckpt.pt is not a sweep state-dict export"),
        (tmp_path / "absent.pt", "absent.pt: no such export file"),
    ]:
        with pytest.raises(ModelError) as info:
            sweep.load_export(path)
        assert needle in str(info.value) and "\n" not in str(info.value)


def test_bad_api_exports_raise_and_write_nothing(
    tasks: dict[str, Task], sweeps: Sweeps, tmp_path: Path
) -> None:
    study = tasks["binary"].study
    unkept = next(n for n in study.trials()["trial"] if n not in study.saved_models())
    with pytest.raises(ModelError, match="unknown export format 'pt'; valid: torchscript, onnx"):
        study.export(tmp_path / "m", format="pt")
    with pytest.raises(ModelError, match=f"no saved weights for trial {unkept}; saved: "):
        study.export(tmp_path / "m", format="torchscript", trial=unkept)
    with pytest.raises(OutputError, match="no such directory"):
        study.export(tmp_path / "no" / "m", format="state-dict")
    assert list(tmp_path.iterdir()) == []


def _unkept(sweeps: Sweeps) -> str:
    study = sweep.open_study(sweeps.binary, sweeps.url)
    return str(next(n for n in study.trials()["trial"] if n not in study.saved_models()))


# (study, arguments, what the error line says); TRIAL stands for a trial whose model was not
# kept, BINARY for the binary study.
BAD_COMMANDS = {
    "format": ("BINARY", "--format pt --output m.pt", ["invalid choice: 'pt'", "state-dict"]),
    "folder": ("BINARY", "--format torchscript --output no/m.pt", ["no/m.pt", "no such directory"]),
    "unwritable": ("BINARY", "--format onnx --output /proc/self/m.onnx", ["/proc/self is not"]),
    "a folder": ("BINARY", "--format state-dict --output .", ["--output .", "is a directory"]),
    "trial": ("BINARY", "--format onnx --output m.onnx --trial TRIAL", ["weights for trial TRIAL"]),
    "study": ("nope", "--format torchscript --output m.pt", ["study 'nope' not found", "moons"]),
}


@pytest.mark.parametrize("why", list(BAD_COMMANDS))
def test_bad_exports_are_one_line_and_write_nothing(
    sweeps: Sweeps, tmp_path: Path, why: str
) -> None:
    name, args, needles = BAD_COMMANDS[why]
    trial = _unkept(sweeps) if "TRIAL" in args else ""
    name = sweeps.binary if name == "BINARY" else name
    argv = ["export", name, *args.replace("TRIAL", trial).split(), "--storage", sweeps.url]
    out = run_cli(*argv, cwd=tmp_path)
    assert_one_line_error(out, *(n.replace("TRIAL", trial) for n in needles))
    assert list(tmp_path.iterdir()) == []


def test_onnx_without_the_onnx_package_says_how_to_install_it(
    sweeps: Sweeps, tmp_path: Path
) -> None:
    # A None entry in sys.modules is how Python marks a module as not importable.
    argv = ["export", sweeps.binary, "--format", "onnx", "--output", "m.onnx"]
    code = (
        "import sys; sys.modules['onnx'] = None; from sweep.cli import main; "
        f"raise SystemExit(main({[*argv, '--storage', sweeps.url]!r}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert_one_line_error(out, "needs the onnx package", "pip install 'sweep[onnx]'")
    assert list(tmp_path.iterdir()) == []
