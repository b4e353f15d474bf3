"""Where the hand-written SQL lives: `sql/` in a source checkout, `service/sql/` in a wheel.

The wheel carries the top-level `sql/` folder inside the package (see pyproject.toml), so the
same code finds it in an editable install, a checkout on `PYTHONPATH` and an installed wheel.
"""

from importlib.resources import files
from pathlib import Path


def _root() -> Path:
    packaged = Path(str(files("service"))) / "sql"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "sql"


SQL_ROOT = _root()
QUERIES_DIR = SQL_ROOT / "queries"
MIGRATIONS_DIR = SQL_ROOT / "migrations"
MAINTENANCE_DIR = SQL_ROOT / "maintenance"
