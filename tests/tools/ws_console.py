#!/usr/bin/python3
"""Open a console WebSocket of startvm-manager and say how it went, for
the manager tests.

    ws_console.py URL TIMEOUT [HEADER...]

HEADER is "Name: value" (an Authorization, a Cookie, an Origin).  A wss:
URL's certificate is not checked (the tests' self-signed one).  Prints
one line: "http STATUS" when the upgrade is refused ("refused WHY" when
that answer is not one the websockets module reads), "close CODE REASON"
when the WebSocket is closed before anything came, "message TEXT" with
the first message (its first line; binary decoded as UTF-8), or
"no answer" when nothing of that came within TIMEOUT seconds (the
handshake included).
"""
import asyncio
import ssl
import sys

import websockets


async def main(url, timeout, headers):
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
            print("message", (msg.splitlines() or [""])[0])
    except websockets.exceptions.InvalidStatusCode as e:
        print("http", e.status_code)
    except websockets.exceptions.InvalidHandshake as e:
        # An answer the client cannot read as one (this module wants
        # HTTP/1.1, lws answers a refused upgrade with HTTP/1.0).
        print("refused", e, "(%s)" % e.__cause__ if e.__cause__ else "")
    except websockets.exceptions.ConnectionClosed as e:
        # rcvd: the close frame the server sent (None when it sent none).
        if e.rcvd is None:
            print("closed without a close frame")
        else:
            print("close", e.rcvd.code, e.rcvd.reason)
    except (asyncio.TimeoutError, OSError) as e:
        print("no answer", type(e).__name__)


if __name__ == "__main__":
    hdrs = [tuple(h.split(": ", 1)) for h in sys.argv[3:]]
    asyncio.run(main(sys.argv[1], float(sys.argv[2]), hdrs))
