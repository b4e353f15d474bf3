import pytest

from service.db.urls import asyncpg_dsn


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+asyncpg://u:p@h:5432/d", "postgresql://u:p@h:5432/d"),
        ("postgresql://u@h/d?sslmode=require", "postgresql://u@h/d?sslmode=require"),
        ("postgres://u@/d?host=/tmp/x", "postgres://u@/d?host=/tmp/x"),
    ],
)
def test_asyncpg_gets_a_plain_postgresql_url(url: str, expected: str) -> None:
    assert asyncpg_dsn(url) == expected
