import pytest

from service.db.urls import asyncpg_dsn, hosts, primary_dsn, split_urls


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


def test_a_url_may_name_several_hosts() -> None:
    assert hosts("postgresql://u:p@h1:5432,h2:5433/d?x=1") == ["h1:5432", "h2:5433"]
    assert hosts("postgresql://u@h/d") == ["h"]
    assert hosts("postgres://u@/d?host=/tmp/x") == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # One host: as it is.
        ("postgresql+asyncpg://u@h:5432/d", "postgresql://u@h:5432/d"),
        # Several, silent about it: only a server that takes writes will do.
        (
            "postgresql://u@h1:1,h2:2/d?sslmode=disable",
            "postgresql://u@h1:1,h2:2/d?sslmode=disable&target_session_attrs=read-write",
        ),
        (
            "postgresql://u@h1:1,h2:2/d",
            "postgresql://u@h1:1,h2:2/d?target_session_attrs=read-write",
        ),
        # What the URL says stands.
        (
            "postgresql://u@h1:1,h2:2/d?target_session_attrs=primary",
            "postgresql://u@h1:1,h2:2/d?target_session_attrs=primary",
        ),
    ],
)
def test_the_primary_is_the_server_that_takes_writes(url: str, expected: str) -> None:
    assert primary_dsn(url) == expected


def test_a_list_of_urls_keeps_each_urls_own_hosts() -> None:
    listed = (
        "postgresql://u@r1:5432/d, postgresql://u@h1:1,h2:2/d?target_session_attrs=prefer-standby,"
        "postgres://u@r3/d"
    )
    assert split_urls(listed) == [
        "postgresql://u@r1:5432/d",
        "postgresql://u@h1:1,h2:2/d?target_session_attrs=prefer-standby",
        "postgres://u@r3/d",
    ]
    assert split_urls(" ") == []
