#!/usr/bin/env python3
"""A hung model server for `Scripts/bench.sh hung`: accepts connections, reads what it is sent, never answers.

It costs next to no CPU (asyncio, reads are discarded), so what the benchmark measures is the gateway.
usage: hung_stub.py PORT
"""
import asyncio
import sys


async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while await reader.read(65536):
            pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(hold, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
