"""Reports: the ranked DataFrame, the terminal tables, CSV export, the HTML and PNG
reports, the effects of each choice, and studies side by side.

Every report reads its study once (``collect``); the plots come from Optuna's
visualisation module (plotly for HTML, matplotlib for PNG).
"""

from sweep.report._collect import ReportData, best_models, collect
from sweep.report._compare import COMPARE_COLUMNS, compare_frame, compare_table, studies_frame
from sweep.report._effects import (
    depth_width,
    depth_width_grid,
    effect_tables,
    effects,
    print_effects,
)
from sweep.report._export import export_all, read_trials_csv, write_csv
from sweep.report._frame import COLUMN_DTYPES, PARAM_COLUMNS, trials_frame
from sweep.report._html import html_report, write_html
from sweep.report._plots import PLOTS, Plot, plan
from sweep.report._png import png_report, write_png
from sweep.report._read import read_trials
from sweep.report._table import print_ranked, ranked_table, wide_console
from sweep.study import read_once as snapshot

__all__ = [
    "COLUMN_DTYPES",
    "COMPARE_COLUMNS",
    "PARAM_COLUMNS",
    "PLOTS",
    "Plot",
    "ReportData",
    "best_models",
    "collect",
    "compare_frame",
    "studies_frame",
    "compare_table",
    "depth_width",
    "depth_width_grid",
    "effect_tables",
    "effects",
    "export_all",
    "html_report",
    "plan",
    "png_report",
    "print_effects",
    "print_ranked",
    "ranked_table",
    "read_trials",
    "read_trials_csv",
    "snapshot",
    "trials_frame",
    "wide_console",
    "write_csv",
    "write_html",
    "write_png",
]
