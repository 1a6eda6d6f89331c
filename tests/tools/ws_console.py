#!/usr/bin/python3
"""Open a console WebSocket of startvm-manager and say how it went, for
the manager tests.

    ws_console.py [-n N] URL TIMEOUT [HEADER...]

HEADER is "Name: value" (an Authorization, a Cookie, an Origin).  A wss:
URL's certificate is not checked (the tests' self-signed one).  Prints
one line: "http STATUS" when the upgrade is refused ("refused WHY" when
that answer is not one the websockets module reads), "close CODE REASON"
when the WebSocket is closed before anything came, "message TEXT" with
the first message (its first line; binary decoded as UTF-8), or
"no answer" when nothing of that came within TIMEOUT seconds (the
handshake included).  -n N: N WebSockets opened at once, a line each, in
the order they were started.
"""
import asyncio
import ssl
import sys

import websockets


async def one(url, timeout, headers):
    tls = None
    if url.startswith("wss:"):
        tls = ssl.create_default_context()
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE
    try:
        async with websockets.connect(url, extra_headers=headers, open_timeout=timeout,
                                      close_timeout=timeout, ssl=tls) as ws:
            msg = await asyncio.wait_for(ws.recv(), timeout)
            if isinstance(msg, bytes):
                msg = msg.decode("utf-8", "replace")
            return "message " + (msg.splitlines() or [""])[0]
    except websockets.exceptions.InvalidStatusCode as e:
        return "http %d" % e.status_code
    except websockets.exceptions.InvalidHandshake as e:
        # An answer the client cannot read as one (this module wants
        # HTTP/1.1, lws answers a refused upgrade with HTTP/1.0).
        return "refused %s%s" % (e, " (%s)" % e.__cause__ if e.__cause__ else "")
    except websockets.exceptions.ConnectionClosed as e:
        # rcvd: the close frame the server sent (None when it sent none).
        if e.rcvd is None:
            return "closed without a close frame"
        return "close %d %s" % (e.rcvd.code, e.rcvd.reason)
    except (asyncio.TimeoutError, OSError) as e:
        return "no answer " + type(e).__name__


async def main(n, url, timeout, headers):
    for line in await asyncio.gather(*(one(url, timeout, headers) for _ in range(n))):
        print(line)


if __name__ == "__main__":
    args = sys.argv[1:]
    n = 1
    if args[0] == "-n":
        n = int(args[1])
        args = args[2:]
    hdrs = [tuple(h.split(": ", 1)) for h in args[2:]]
    asyncio.run(main(n, args[0], float(args[1]), hdrs))
