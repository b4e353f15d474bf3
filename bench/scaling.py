"""`python bench/scaling.py`: the read benchmark's E1 and E2 for ours on one, two and four
worker processes, and on one worker through PgBouncer in transaction mode (DB_POOLER=pgbouncer),
side by side in one run (docs/scaling.md quotes it).

PgBouncer is started the way the tests start it (tests/support/pgbouncer.py), in front of the
benchmark's database, with a pool of 10 server connections (ours's own pool size). Extra
arguments go to the harness (`--rounds 2 --seconds 8`, ...). Replicas are measured by the tests,
not here: a replica of the benchmark's server would copy all its databases.
"""

import os
import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench import main as harness  # noqa: E402
from tests.support.pgbouncer import pgbouncer  # noqa: E402


def main() -> int:
    direct = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bench")
    with pgbouncer(direct, pool_size=10) as bouncer:
        database = direct.rpartition("/")[2]
        pooled = (
            f"ours+DB_POOLER=pgbouncer+DATABASE_URL={bouncer.url(database)}"
            f"+DATABASE_DIRECT_URL={direct}"
        )
        variants = ["ours", "ours+WORKERS=2", "ours+WORKERS=4", pooled]
        return harness.main(
            ["--variants", ",".join(variants), "--endpoints", "E1,E2", *sys.argv[1:]]
        )


if __name__ == "__main__":
    sys.exit(main())
