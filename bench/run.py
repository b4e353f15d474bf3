"""`python bench/run.py`: the read benchmark (see bench/README.md)."""

import sys
from pathlib import Path

# Run as a script, this directory would come first on sys.path; the project root must instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
