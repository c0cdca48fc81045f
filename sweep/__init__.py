"""sweep: hyperparameter sweeps for PyTorch MLPs, persisted in an Optuna database.

Run a study from a TOML file and read its results::

    import sweep

    spec = sweep.load_spec("studies/default.toml")
    summary = sweep.run_study(spec, storage="sqlite:///sweeps.db", n_trials=50)

    study = sweep.open_study("default", storage="sqlite:///sweeps.db")
    study.top(5)            # ranked pandas DataFrame
    study.best.params       # the best trial's hyperparameters
    study.best.metrics      # its train/validation/test metrics
    study.model()           # its trained network (nn.Module, eval mode)
    study.predict(x)        # its predictions for new rows, scaled as in training

Heavy modules (torch) load on first use of the names that need them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sweep.config import StudySpec, load_spec, parse_spec
from sweep.errors import (
    ConfigError,
    DataError,
    ModelError,
    OutputError,
    StorageError,
    StudyNotFoundError,
    SweepError,
)

if TYPE_CHECKING:
    from sweep.api import BestTrial, SweepStudy, compare_studies, list_studies, open_study
    from sweep.export import load_export
    from sweep.run import RunSummary, run_study
    from sweep.space import TrialConfig

__version__ = "0.1.0"

__all__ = [
    "BestTrial",
    "ConfigError",
    "DataError",
    "ModelError",
    "OutputError",
    "RunSummary",
    "StorageError",
    "StudyNotFoundError",
    "StudySpec",
    "SweepError",
    "SweepStudy",
    "TrialConfig",
    "compare_studies",
    "list_studies",
    "load_export",
    "load_spec",
    "open_study",
    "parse_spec",
    "run_study",
]

_LAZY = {
    "BestTrial": "sweep.api",
    "SweepStudy": "sweep.api",
    "compare_studies": "sweep.api",
    "list_studies": "sweep.api",
    "load_export": "sweep.export",
    "open_study": "sweep.api",
    "RunSummary": "sweep.run",
    "run_study": "sweep.run",
    "TrialConfig": "sweep.space",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sweep' has no attribute {name!r}")
