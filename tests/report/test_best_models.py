"""The best models: kept through Optuna's artifact store, loaded back as the trained
networks, and used to predict with the training scaling."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
import torch

import sweep
from sweep.checkpoint import ModelKeeper
from sweep.config import load_spec
from sweep.data import load_data
from sweep.errors import ModelError
from sweep.metrics import objective_for
from sweep.model import build_model
from sweep.space import TrialConfig
from sweep.storage import artifact_dir
from tests.conftest import write_study
from tests.report.conftest import Sweeps, write_regression_study


def test_a_sweep_keeps_the_top_k_trials_weights(sweeps: Sweeps) -> None:
    for name in (sweeps.binary, sweeps.regression):
        study = sweep.open_study(name, sweeps.url)
        done = study.top(100)
        saved = study.saved_models()
        keep = study.spec.study.keep_models
        assert len(saved) == min(keep, len(done))
        assert set(saved) == set(done["trial"].head(keep))
        ckpt = study.checkpoint()
        assert ckpt.trial == study.best.number
        saved_dict = set(ckpt.to_dict())
        assert {"config", "n_inputs", "n_outputs", "x_mean", "x_std", "state_dict"} <= saved_dict
        assert ckpt.config.widths == tuple(study.best.params["widths"])
        assert ckpt.to_dict()["config"]["widths"] == list(study.best.params["widths"])
        assert (artifact_dir(sweeps.url) / saved[study.best.number]).is_file()


@pytest.mark.parametrize("which", ["binary", "regression"])
def test_saved_weights_are_the_trained_networks(sweeps: Sweeps, which: str) -> None:
    """Recomputing each kept model's test metric from its saved weights gives the metric
    the sweep recorded when the network had just been trained."""
    study = sweep.open_study(getattr(sweeps, which), sweeps.url)
    metric = f"test_{study.objective.name}"
    for number in study.saved_models():
        recorded = study.trial(number).metrics[metric]
        assert study.evaluate(number)[metric] == pytest.approx(recorded, rel=1e-5, abs=1e-7)
    tests = study.test_metrics()
    assert list(tests["trial"]) == list(study.top(len(tests))["trial"])
    assert tests["artifact"].notna().all() and metric in tests


# The network the ``kept`` fixture trains and saves.
KEPT = TrialConfig(
    widths=(12, 12),
    activation="split",
    split_fraction=0.25,
    loss="mse",
    optimizer="adam",
    lr=0.01,
    batch_size=32,
)


@pytest.fixture(scope="module")
def kept(tmp_path_factory: pytest.TempPathFactory):
    """A network trained for a few steps in memory, then saved by the ModelKeeper the
    coordinator uses, for regression with scaled targets and for binary moons."""
    work = tmp_path_factory.mktemp("kept")
    url = f"sqlite:///{work / 'kept.db'}"
    out = {}
    for path in (write_study(work, name="bin"), write_regression_study(work, name="sine")):
        spec = load_spec(path)
        data = load_data(spec.data)
        model = build_model(KEPT, data.n_features, data.n_outputs, seed=3)
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        for _ in range(30):
            opt.zero_grad()
            torch.nn.functional.mse_loss(model(data.x_train), data.y_train.float()).backward()
            opt.step()
        model.eval()
        study = optuna.create_study(study_name=spec.name, storage=url, direction="maximize")
        keeper = ModelKeeper(study, artifact_dir(url), 3, objective_for(data.task), data)
        trial = study.ask()
        buffer = io.BytesIO()
        torch.save(model.state_dict(), buffer)
        artifact = keeper.save(trial, KEPT, buffer.getvalue())
        study.tell(trial, 0.5)
        keeper.register({trial.number: artifact})
        out[data.task] = (sweep.open_study(spec.name, url), model, data)
    return out


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_save_load_predict_gives_the_in_memory_models_predictions(kept, task: str) -> None:
    study, model, data = kept[task]
    raw = data.x_scaling.invert(data.x_test)  # back to the data's own units
    with torch.no_grad():
        expected = model(data.x_test)
    predictor = study.predictor()
    assert not predictor.model.training
    assert torch.allclose(predictor.outputs(raw.numpy()), expected, atol=1e-5)
    got = study.predict(raw.numpy())
    if task == "regression":
        # Values in the targets' own units: the target scaling is undone.
        want = (expected * data.y_scaling.std + data.y_scaling.mean).numpy()[:, 0]
        assert data.y_scaling.std.item() != 1.0
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    else:
        np.testing.assert_array_equal(got, (expected[:, 0] > 0).long().numpy())
        proba = study.predict_proba(raw.numpy())
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
        np.testing.assert_array_equal(proba.argmax(axis=1), got)


def test_every_input_kind_gives_the_same_predictions(kept) -> None:
    study, _, data = kept["binary"]
    predictor = study.predictor(device="cpu")
    raw = data.x_scaling.invert(data.x_test).numpy()
    names = predictor.feature_names
    frame = pd.DataFrame(raw, columns=names)
    reordered = frame[names[::-1]].assign(label="ignored")
    want = predictor.predict(raw)
    for x in (torch.from_numpy(raw), frame, reordered, raw.tolist(), raw.astype(np.float64)):
        np.testing.assert_array_equal(predictor.predict(x), want)
    assert predictor.predict(raw[:0]).shape == (0,)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
def test_predictions_on_the_gpu_match_the_cpu(kept) -> None:
    study, _, data = kept["regression"]
    raw = data.x_scaling.invert(data.x_test).numpy()
    np.testing.assert_allclose(
        study.predict(raw, device="cuda"), study.predict(raw), rtol=1e-4, atol=1e-5
    )


BAD_INPUTS = [
    ("columns", lambda names: np.zeros((3, len(names) + 1)), "input has 3 columns"),
    ("missing", lambda names: pd.DataFrame({names[0]: [1.0], "other": [2.0]}), "missing columns"),
    (
        "text",
        lambda names: pd.DataFrame({n: ["1.5", "abc"] for n in names}),
        "is not numeric: 'abc' in row 2",
    ),
    ("array text", lambda names: [["1"] * len(names), ["x"] * len(names)], "not numeric: 'x'"),
    ("nan", lambda names: [[1.0] * len(names), [np.nan] * len(names)], "non-finite value in row 2"),
    ("shape", lambda names: torch.zeros(2, len(names), 1), "expected 2-D"),
    ("ragged", lambda names: [[1.0] * len(names), [1.0]], "different lengths"),
]


@pytest.mark.parametrize(("why", "make", "needle"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_is_a_one_line_model_error(kept, why: str, make, needle: str) -> None:
    study, _, _ = kept["binary"]
    predictor = study.predictor()
    with pytest.raises(ModelError) as info:
        predictor.predict(make(predictor.feature_names))
    message = str(info.value)
    assert needle in message and "\n" not in message, message


def test_unkept_trials_and_regression_probabilities_are_errors(kept, sweeps: Sweeps) -> None:
    study = sweep.open_study(sweeps.binary, sweeps.url)
    unkept = next(n for n in study.trials()["trial"] if n not in study.saved_models())
    with pytest.raises(ModelError, match=f"no saved weights for trial {unkept}; saved: "):
        study.predict(np.zeros((1, 2)), trial=unkept)
    with pytest.raises(ModelError, match="regression model"):
        kept["regression"][0].predict_proba(np.zeros((1, 1)))
    with pytest.raises(ModelError, match="unknown split 'dev'; valid: train, val, test"):
        study.evaluate(split="dev")


def test_a_checkpoint_that_is_not_one_is_refused(kept, tmp_path: Path) -> None:
    from sweep.checkpoint import artifact_store, read_checkpoint

    store = artifact_store(tmp_path)
    (tmp_path / "junk").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="is not a checkpoint"):
        read_checkpoint(store, "junk")
    with pytest.raises(ModelError, match="cannot be read"):
        read_checkpoint(store, "absent")
    study, _, _ = kept["binary"]
    good = study.checkpoint().to_dict()
    refused = [
        ({"weights": 1}, "model artifact other is not a sweep checkpoint$"),
        ({**good, "format": 2}, "model artifact other has checkpoint format 2; this sweep reads 1"),
        ({k: v for k, v in good.items() if k != "x_std"}, "is not a sweep checkpoint: no x_std"),
        ({**good, "config": {"activation": "relu"}}, "other has no valid config"),
    ]
    for raw, message in refused:
        torch.save(raw, tmp_path / "other")
        with pytest.raises(ModelError, match=message):
            read_checkpoint(store, "other")


def test_a_checkpoint_is_a_dataclass_saved_as_a_plain_dict(kept) -> None:
    from sweep.checkpoint import Checkpoint

    study, model, data = kept["regression"]
    ckpt = study.checkpoint()
    assert isinstance(ckpt, Checkpoint) and ckpt.task == "regression"
    assert (ckpt.n_inputs, ckpt.n_outputs) == (data.n_features, data.n_outputs)
    assert ckpt.feature_names == data.feature_names and ckpt.classes is None
    assert torch.equal(ckpt.y_scaling.std, data.y_scaling.std)
    assert list(ckpt.state_dict) == list(ckpt.layout.shapes()) == list(model.state_dict())
    again = Checkpoint.from_dict(ckpt.to_dict())
    for key, value in ckpt.to_dict().items():
        if key == "state_dict":
            assert value.keys() == again.state_dict.keys()
            assert all(torch.equal(value[k], again.state_dict[k]) for k in value)
        elif isinstance(value, torch.Tensor):
            assert torch.equal(value, again.to_dict()[key]), key
        else:
            assert again.to_dict()[key] == value, key


def test_a_format_1_file_as_written_before_the_dataclass_loads(kept, tmp_path: Path) -> None:
    """The dict earlier versions saved (key for key) loads, and predicts as the network."""
    from sweep.checkpoint import artifact_store, read_checkpoint
    from sweep.predict import Predictor

    _, model, data = kept["binary"]
    legacy = {
        "format": 1,
        "study": "old",
        "trial": 7,
        "config": KEPT.to_dict(),
        "task": data.task,
        "n_inputs": data.n_features,
        "n_outputs": data.n_outputs,
        "feature_names": list(data.feature_names),
        "classes": list(data.classes),
        "x_mean": data.x_scaling.mean,
        "x_std": data.x_scaling.std,
        "y_mean": data.y_scaling.mean,
        "y_std": data.y_scaling.std,
        "state_dict": model.state_dict(),
    }
    torch.save(legacy, tmp_path / "legacy")
    ckpt = read_checkpoint(artifact_store(tmp_path), "legacy")
    assert (ckpt.study, ckpt.trial, ckpt.config) == ("old", 7, KEPT)
    assert ckpt.classes == tuple(data.classes)
    predictor = Predictor(ckpt)
    raw = data.x_scaling.invert(data.x_test)
    with torch.no_grad():
        assert torch.allclose(predictor.outputs(raw.numpy()), model(data.x_test), atol=1e-5)


def test_a_checkpoint_holds_its_own_weights_only(sweeps: Sweeps) -> None:
    """A trial trained in a pack saves its weights, not the pack's buffer they were in
    (a one-input or one-output layer's weights would otherwise be a view of it)."""
    for name in (sweeps.binary, sweeps.regression):
        state = sweep.open_study(name, sweeps.url).checkpoint().state_dict
        for key, value in state.items():
            assert value.untyped_storage().nbytes() == value.numel() * 4, (name, key)


IRIS = """
[study]
name = "iris"
trials = 3
seed = 0
pruner = "none"

[data]
source = "iris"

[train]
epochs = 4

[space]
width = { low = 8, high = 16 }
optimizer = "adam"
lr = 0.02
batch_size = 32
"""


def test_a_multiclass_model_predicts_labels_and_probabilities(tmp_path: Path) -> None:
    from sweep.data import SOURCES

    if "iris" not in SOURCES:
        pytest.skip("no multi-class data source (iris) in this checkout")
    path = tmp_path / "iris.toml"
    path.write_text(IRIS)
    url = f"sqlite:///{tmp_path / 'iris.db'}"
    sweep.run_study(sweep.load_spec(path), storage=url, display="none")
    study = sweep.open_study("iris", url)
    data = load_data(study.spec.data)
    raw = data.x_scaling.invert(data.x_test).numpy()
    predictor = study.predictor()
    labels = predictor.predict(pd.DataFrame(raw, columns=predictor.feature_names))
    classes = study.data_summary["classes"]
    assert len(classes) == 3 and set(labels) <= set(classes)
    proba = predictor.predict_proba(raw)
    assert proba.shape == (len(raw), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(np.asarray(classes)[proba.argmax(axis=1)], labels)
    # The labels agree with the recorded test accuracy of the saved network.
    accuracy = float(np.mean(labels == np.asarray(classes)[data.y_test.numpy()]))
    assert accuracy == pytest.approx(study.best.metrics["test_accuracy"])
    assert study.evaluate()["test_accuracy"] == pytest.approx(accuracy)
