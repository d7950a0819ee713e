#!/usr/bin/env python3
"""A model stub for Fuzz/http-campaign.sh: answers every request 200 with a fixed JSON body, keep-alive,
whatever its method, target or header size (the gateway's answers are under test, not the stub's).

usage: upstream_stub.py PORT_FILE BODY   (listens on a free port of 127.0.0.1 and writes it to PORT_FILE)
"""
import asyncio
import sys

BODY = sys.argv[2].encode()
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)


async def serve(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").lower().split("\r\n")
            length = next((int(l.split(":", 1)[1]) for l in lines if l.startswith("content-length:")), 0)
            if any(l.startswith("transfer-encoding:") and "chunked" in l for l in lines):
                while True:
                    size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                    await reader.readexactly(size + 2)
                    if size == 0:
                        break
            elif length:
                await reader.readexactly(length)
            writer.write(ANSWER)
            await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", 0, limit=1 << 20)
    with open(sys.argv[1], "w") as f:
        f.write(str(server.sockets[0].getsockname()[1]))
    await server.serve_forever()


asyncio.run(main())
