"""Every command and request example in README.md, run as written. The examples are found in the
README itself, so one added there is checked without a change here:

- `python -m service ...` runs against a migrated scratch database (DATABASE_URL) and must
  exit 0 without an `error:` line;
- the quick start's `python -m service serve` starts with no setting at all, from an empty
  folder (so on an embedded PostgreSQL), and every block of `curl` requests then runs against
  it as one shell script, each request required to succeed (curl --fail-with-body);
- the quick start's test command is the one CI runs (.ci/run);
- benchmarks (minutes to half an hour, on a database of a million blogs) must answer `--help`;
- installs (pip, apt-get, `bash .ci/lock`) are not run here: CI installs the same way.

Any other command fails `test_every_readme_command_is_checked`, naming its README line, until
this module is taught how to check it.
"""

import asyncio
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from service.testing.databases import seeded_database
from tests.support.project import PROJECT_ROOT
from tests.support.servers import stop
from tests.support.system import free_port
from tests.support.waiting import eventually

pytestmark = pytest.mark.anyio

README = PROJECT_ROOT / "README.md"
SHELLS = {"sh", "bash", "shell", "console"}
# Where the README's examples expect the service (the quick start's default).
README_BASE_URL = "http://127.0.0.1:8000"
# A signed-up user and a blog, so scripts that show rows have some to show.
SEED = (
    "INSERT INTO users (name, email, password_hash) VALUES ('Ada', 'ada@example.com', 'x')",
    "INSERT INTO blogs (user_id, title, body) SELECT id, 'Hello', 'World' FROM users",
)


@dataclass(frozen=True)
class Example:
    line: int  # in README.md
    command: str  # as written, continuation lines included
    block: int  # which fenced block

    def __str__(self) -> str:
        return f"README.md:{self.line}: {self.command}"


def _examples(text: str) -> list[Example]:
    """Commands in shell blocks (every line), and `$ ` lines of transcripts in plain blocks."""
    examples: list[Example] = []
    language: str | None = None
    block = 0
    pending: tuple[int, str] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        fence = re.match(r"^\s*```(\S*)\s*$", line)
        if fence:
            language = None if language is not None else fence.group(1)
            block += 1
            continue
        if language is None:
            continue
        if pending is not None:
            start, command = pending
            command = f"{command}\n{line}"
        elif _is_command(language, line):
            start, command = number, line.removeprefix("$ ")
        else:
            continue
        if command.endswith("\\"):
            pending = (start, command)
        else:
            pending = None
            examples.append(Example(start, command.strip(), block))
    return examples


def _is_command(language: str, line: str) -> bool:
    if language in SHELLS:
        return bool(line.strip()) and not line.lstrip().startswith("#")
    return language == "" and line.startswith("$ ")


def _run(command: str, **options: object) -> "subprocess.CompletedProcess[str]":
    """`command` run by bash, as a reader would paste it."""
    return subprocess.run(
        ["/bin/bash", "-c", command],
        capture_output=True,
        text=True,
        check=False,
        **options,  # type: ignore[call-overload]
    )


EXAMPLES = _examples(README.read_text())


def _kind(example: Example) -> str:
    command = re.sub(r"\s+#[^'\"]*$", "", example.command)  # a trailing comment
    if any(re.search(r"\bcurl\b", e.command) for e in EXAMPLES if e.block == example.block):
        return "requests"
    if re.search(r"(^|&&\s*)\S*python3? -m pytest\b", command):
        return "tests"
    if re.search(r"(^|&&\s*)\S*python3? -m service serve\b", command):
        return "serve"
    if re.match(r"python3? -m service\b", command):
        return "service"
    if re.match(r"python3? bench/\S+\.py\b", command):
        return "benchmark"
    if re.search(r"\bpip install\b|\bapt-get install\b|^bash \.ci/lock$", command):
        return "install"
    return "unknown"


def _of_kind(kind: str) -> list[Example]:
    return [example for example in EXAMPLES if _kind(example) == kind]


def _ids(examples: list[Example]) -> list[str]:
    return [f"line{example.line}" for example in examples]


def _environment(**settings: str) -> dict[str, str]:
    """This environment without any of the service's settings, the checkout's Python first on
    PATH (the README's `python`), and `settings`."""
    from service.settings import Settings

    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    return env | settings


def test_every_readme_command_is_checked() -> None:
    assert EXAMPLES, "no examples found in README.md"
    unknown = [str(example) for example in EXAMPLES if _kind(example) == "unknown"]
    assert unknown == [], "README commands tests/test_readme.py cannot check:\n" + "\n".join(
        unknown
    )


def test_the_parser_finds_commands_continuations_and_transcripts() -> None:
    text = (
        "```sh\n# a comment\npython -m service migrate   # apply\n"
        "python -m service sql explain q \\\n    --analyze\n```\n"
        "```\n$ python -m service sql list\nname  read_only\n```\n"
        '```json\n{"$ no": 1}\n```\n'
    )
    assert [(e.line, e.command) for e in _examples(text)] == [
        (3, "python -m service migrate   # apply"),
        (4, "python -m service sql explain q \\\n    --analyze"),
        (8, "python -m service sql list"),
    ]


@pytest.fixture(scope="module")
async def example_database(server_url: str) -> AsyncIterator[str]:
    async with seeded_database(server_url, *SEED) as url:
        yield url


@pytest.mark.parametrize("example", _of_kind("service"), ids=_ids(_of_kind("service")))
async def test_a_service_command_runs_as_written(example_database: str, example: Example) -> None:
    result = await asyncio.to_thread(
        _run,
        example.command,
        cwd=PROJECT_ROOT,
        env=_environment(DATABASE_URL=example_database),
        timeout=300,
    )
    assert result.returncode == 0, f"{example}\n{result.stdout}\n{result.stderr}"
    assert "error:" not in result.stderr, f"{example}\n{result.stderr}"


@pytest.mark.parametrize("example", _of_kind("benchmark"), ids=_ids(_of_kind("benchmark")))
def test_a_benchmark_answers_help(example: Example) -> None:
    script = example.command.split()[1]
    result = subprocess.run(
        [sys.executable, script, "--help"],
        cwd=PROJECT_ROOT,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{example}\n{result.stderr}"


def test_the_quick_start_test_command_is_what_ci_runs() -> None:
    [example] = _of_kind("tests")
    ci = (PROJECT_ROOT / ".ci" / "run").read_text()
    assert example.command.replace(" install ", " install -q ") in ci, example


async def test_the_quick_start_serves_and_answers_the_request_examples() -> None:
    [example] = _of_kind("serve")
    # The last step as written, from an empty folder: the checkout's Python stands for the
    # `.venv` the steps before it make (CI makes it the same way).
    serve = example.command.split("&&")[-1].strip().replace(".venv/bin/python", sys.executable)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="blog-api-readme-") as folder:
        log = Path(folder) / "serve.log"
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                "/bin/bash",
                "-c",
                f"exec {serve}",
                cwd=folder,
                env=_environment(PORT=str(port)),
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        base_url = f"http://127.0.0.1:{port}"
        try:

            async def live() -> bool:
                if process.returncode is not None:
                    pytest.fail(f"{example}\nexited {process.returncode}:\n{log.read_text()}")
                try:
                    async with httpx.AsyncClient(base_url=base_url, timeout=1) as client:
                        return (await client.get("/health")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(live, within=120, what="the quick start to serve")
            for block in sorted({e.block for e in _of_kind("requests")}):
                await _run_requests(block, base_url)
        finally:
            await stop(process)


async def _run_requests(block: int, base_url: str) -> None:
    commands = [e for e in EXAMPLES if e.block == block]
    script = "\n".join(
        [
            "set -euo pipefail",
            # Each request must succeed: a 4xx or 5xx fails the example.
            'curl() { command curl --fail-with-body --show-error "$@"; }',
            *(e.command.replace(README_BASE_URL, base_url) for e in commands),
        ]
    )
    result = await asyncio.to_thread(_run, script, env=_environment(), timeout=120)
    assert result.returncode == 0, f"{commands[0]}\n{result.stdout}\n{result.stderr}"
