import json
import subprocess
import sys
from pathlib import Path

from service.db.embedded import _forget_dead_handles


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_handles_of_dead_processes_are_forgotten(tmp_path: Path) -> None:
    dead = _dead_pid()
    (tmp_path / ".handle_pids.json").write_text(json.dumps([dead, 1]))
    _forget_dead_handles(tmp_path)
    assert json.loads((tmp_path / ".handle_pids.json").read_text()) == [1]


def test_no_handles_file_is_fine(tmp_path: Path) -> None:
    _forget_dead_handles(tmp_path)
    assert not (tmp_path / ".handle_pids.json").exists()
