"""Baseline for HTTP Basic: a bare asyncio keep-alive client, no framework, no checks.

    python bench/credentials/raw_basic.py ADDRESS USER PASSWORD_FILE [--port 80]
        [--connections 16]

Each connection sends `GET /` with one Authorization header at a time over keep-alive and
reads the status line and Content-Length body; the first 200 stops every connection. It is
what any Basic login costs at least on this machine (the floor shinsa is held to).
Prints one JSON line like shinsa_ssh.py.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import time
from pathlib import Path


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("address")
    parser.add_argument("user")
    parser.add_argument("passwords", type=Path)
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    words = args.passwords.read_text().splitlines()
    queue = iter(range(len(words)))
    found: list[str] = []
    done = asyncio.Event()
    attempts = 0

    async def worker() -> None:
        nonlocal attempts
        reader = writer = None
        index: int | None = None
        while not done.is_set():
            if index is None:
                index = next(queue, None)
                if index is None:
                    return
            if writer is None:
                reader, writer = await asyncio.open_connection(args.address, args.port)
            assert reader is not None
            token = base64.b64encode(f"{args.user}:{words[index]}".encode()).decode()
            writer.write(
                f"GET / HTTP/1.1\r\nHost: {args.address}\r\n"
                f"Authorization: Basic {token}\r\n\r\n".encode()
            )
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()
                reader = writer = None
                continue  # the server closed the keep-alive connection: same password again
            status = int(head.split(b" ", 2)[1])
            length = 0
            close = False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
                elif name.strip().lower() == b"connection" and b"close" in value.lower():
                    close = True
            if length:
                await reader.readexactly(length)
            attempts += 1
            if status == 200:
                found.append(words[index])
                done.set()
            index = None
            if close:
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    started = time.perf_counter()
    tasks = [asyncio.create_task(worker()) for _ in range(args.connections)]
    await asyncio.gather(*tasks)
    seconds = time.perf_counter() - started
    print(
        json.dumps({"attempts": attempts, "seconds": seconds, "found": found[0] if found else None})
    )


if __name__ == "__main__":
    asyncio.run(main())
