"""Our tests run on the fixtures of the package's own pytest plugin (service/testing/plugin.py,
loaded as an installed plugin, so this suite tests it): `server_url`, `database_url`,
`scratch_database`, `app`, `client`, `lenient`, `db`, `raw` and `sign_up`, each test in a
transaction rolled back at its end (tests/db/test_database.py proves it).

Helpers only our tests need are in tests/support/.
"""

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("blog_api"):
        raise pytest.UsageError(
            "the blog_api pytest plugin is not loaded: install the package "
            "(pip install -c constraints.txt -e '.[test]') and do not pass -p no:blog_api"
        )


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"
