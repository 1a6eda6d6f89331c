"""bench/manager's second WebSocket client, for throughput only: Python's
websockets (10.4 in Debian 12) reads each frame's payload in one piece,
where the libwebsockets client of bench/manager_ws.c copies it a byte at
a time and so measures itself more than the proxy.
  manager_ws.py URL PASSWORD BYTES   ->  prints MB/s for BYTES streamed
"""
import asyncio, ssl, sys, time

import websockets

url, password, want = sys.argv[1], sys.argv[2], int(sys.argv[3])


async def main():
    ctx = None
    if url.startswith("wss:"):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    async with websockets.connect(
        url,
        ssl=ctx,
        subprotocols=["binary"],
        extra_headers={"Authorization": "Bearer " + password},
        max_size=None,
        read_limit=1 << 20,
        compression=None,
    ) as ws:
        await ws.send(b"T")
        got, t0 = 0, time.perf_counter()
        while got < want:
            got += len(await ws.recv())
        print(f"{got / (time.perf_counter() - t0) / 1e6:.0f}")


asyncio.run(main())
