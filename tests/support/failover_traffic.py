"""Traffic through the served service while its primary is lost: writers that send POST /blogs
without pause and remember every blog acknowledged with a 201, and anonymous readers. Shared by
tests/db/test_failover.py and bench/failover.py."""

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

# A client that was told to come back: it does, this soon (Retry-After says 1 s; a client that
# waits less finds the new primary sooner, and tells us more precisely when it could).
RETRY_SECONDS = 0.1


@dataclass
class Traffic:
    client: httpx.AsyncClient
    headers: dict[str, str]
    writers: int = 3
    readers: int = 2
    acknowledged: set[int] = field(default_factory=set)
    write_statuses: Counter[int | str] = field(default_factory=Counter)
    read_statuses: Counter[int | str] = field(default_factory=Counter)
    # Each write answered 201: when it was sent and when answered (monotonic).
    write_times: list[tuple[float, float]] = field(default_factory=list)
    failed_reads: int = 0
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list["asyncio.Task[None]"] = field(default_factory=list)
    _sent: int = 0

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._write()) for _ in range(self.writers)]
        self._tasks += [asyncio.create_task(self._read()) for _ in range(self.readers)]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)

    def writes_since(self, moment: float) -> int:
        """Writes sent after `moment` and acknowledged."""
        return sum(1 for sent, _ in self.write_times if sent > moment)

    def first_write_after(self, moment: float) -> float | None:
        """When the first write sent after `moment` was acknowledged."""
        return min((answered for sent, answered in self.write_times if sent > moment), default=None)

    async def _write(self) -> None:
        while not self._stop.is_set():
            self._sent += 1
            body = {"title": f"failover {self._sent}", "body": "written through a failover"}
            sent = time.monotonic()
            try:
                response = await self.client.post("/blogs", json=body, headers=self.headers)
            except httpx.TransportError as exc:
                self.write_statuses[type(exc).__name__] += 1
                await asyncio.sleep(RETRY_SECONDS)
                continue
            self.write_statuses[response.status_code] += 1
            if response.status_code == 201:
                self.acknowledged.add(response.json()["id"])
                self.write_times.append((sent, time.monotonic()))
            else:
                await asyncio.sleep(RETRY_SECONDS)

    async def _read(self) -> None:
        while not self._stop.is_set():
            try:
                response = await self.client.get("/blogs", params={"limit": 5})
                status: int | str = response.status_code
            except httpx.TransportError as exc:
                status = type(exc).__name__
            self.read_statuses[status] += 1
            if status != 200:
                self.failed_reads += 1
            await asyncio.sleep(0.02)
