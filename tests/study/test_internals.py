"""The one door to Optuna's private names: in place on the pinned Optuna, and a study
that runs through Optuna's public API when one of them is missing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
from optuna.trial import TrialState

from sweep.storage import open_storage
from sweep.study import _optuna_internals as internals
from tests.conftest import REPO, write_study

# A study in a fresh process in which one private method that sweep overrides has another
# shape (Optuna itself still works).
WITHOUT = """
import sys
import optuna
sample = optuna.samplers.TPESampler._sample
optuna.samplers.TPESampler._sample = lambda self, *args, **kwargs: sample(self, *args, **kwargs)
from sweep.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_every_private_name_is_in_place_on_the_pinned_optuna() -> None:
    assert internals.MISSING is None and internals.PRIVATE
    assert internals.SCHEMA_REVISION == "v3.2.0.a"


def test_the_schema_revision_is_checked_before_a_raw_write(tmp_path: Path) -> None:
    storage = open_storage(f"sqlite:///{tmp_path}/s.db", create=True)
    assert internals.rdb(storage) is storage
    assert internals.rdb(optuna.storages.InMemoryStorage()) is None
    # Optuna refuses to open a database of another schema; one upgraded by a newer Optuna
    # after it was opened is read through Optuna's API.
    other = open_storage(f"sqlite:///{tmp_path}/o.db", create=True)
    with other.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'v9.9.9'")
    assert internals.rdb(other) is None


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_missing_private_name_gives_a_complete_study_through_the_public_api(
    tmp_path: Path,
) -> None:
    path = write_study(tmp_path, trials=10, epochs=3)
    url = f"sqlite:///{tmp_path}/f.db"
    done = _run(
        tmp_path, "run", str(path), "--storage", url, "--pack", "5", "--quiet", "--no-report"
    )
    assert done.returncode == 0, done.stderr
    warned = [line for line in done.stderr.splitlines() if "public API" in line]
    assert warned == [
        f"sweep: Optuna {optuna.__version__} has <lambda>(self, *args, **kwargs); sweep uses "
        "Optuna's public API instead (Optuna's TPE sampler, one write per call, packs "
        "sampled trial by trial, no sampling ahead)"
    ]
    study = optuna.load_study(study_name="small", storage=open_storage(url, create=False))
    finished = [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) == 10
    assert len({tuple(sorted(t.params.items())) for t in study.trials}) == len(study.trials)
    for t in finished:
        assert {"config", "seed", "epochs_run", "n_params"} <= t.user_attrs.keys()
        assert t.system_attrs["sweep.owner"]["pid"] > 0
        assert t.state == TrialState.PRUNED or t.value == t.user_attrs["val_accuracy"]
    assert max(t.user_attrs["pack_size"] for t in finished) > 1
    # A rerun through the public path resumes the study: nothing more to do.
    again = _run(tmp_path, "run", str(path), "--storage", url, "--quiet", "--no-report")
    assert again.returncode == 0, again.stderr
    assert len(optuna.load_study(study_name="small", storage=url).trials) == len(study.trials)
