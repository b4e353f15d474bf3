def asyncpg_dsn(url: str) -> str:
    """Accept SQLAlchemy-style `postgresql+asyncpg://` URLs where asyncpg wants `postgresql://`."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+', 1)[0]}{sep}{rest}"
