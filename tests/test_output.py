"""Output files: checked before any work, written atomically, errors in one line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sweep._output import atomic_path, check_file, check_folder, write_text
from sweep.errors import OutputError, SweepError
from sweep.report import write_csv


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "report.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_path(target) as temp:
        temp.write_text("half")
        raise RuntimeError("the writer failed")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.csv"]


def test_a_write_replaces_the_file_keeps_its_mode_and_follows_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real.html"
    real.write_text("old")
    real.chmod(0o600)
    link = tmp_path / "link.html"
    link.symlink_to(real.name)
    assert write_text(link, "new") == link
    assert link.is_symlink() and real.read_text() == "new"
    assert real.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.html", "real.html"]


def test_missing_folders_are_made_and_the_suffix_picks_the_format(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1, 2]})
    path = write_csv(frame, tmp_path / "x" / "y" / "t.csv.gz")
    assert path.read_bytes()[:2] == b"\x1f\x8b"  # gzip, as pandas infers from the name
    pd.testing.assert_frame_equal(pd.read_csv(path), frame)


def test_the_library_raises_output_error_naming_the_path(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("")
    bad = tmp_path / "afile" / "t.csv"
    with pytest.raises(OutputError) as info:
        write_csv(pd.DataFrame({"a": [1]}), bad)
    assert isinstance(info.value, SweepError)
    assert str(info.value) == f"{bad}: cannot write: {tmp_path / 'afile'} is a file"
    assert (tmp_path / "afile").read_text() == ""


def test_checks_name_the_flag_and_the_reason(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(OutputError, match=r"^--png .*/f: cannot write: .*/f is a file$"):
        check_folder(tmp_path / "f", "--png")
    with pytest.raises(OutputError, match=r"^--csv .*: cannot write: .* is a directory$"):
        check_file(tmp_path, "--csv")
    assert check_file(tmp_path / "new" / "deeper" / "t.csv") == tmp_path / "new/deeper/t.csv"
    assert not (tmp_path / "new").exists()  # a check writes nothing
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]
