#!/usr/bin/python3
"""A small fake Docker API on a unix socket, for startvm-manager tests that
need answers podman does not give (a network whose driver is host, a 500).

    fake_docker.py SOCKET ROUTES LOG

ROUTES is a JSON file: a list of {"method": "GET", "path": REGEX,
"status": 200, "body": JSON, "delay": SECONDS} tried in order (REGEX is
matched in full against the path without the /v1.NN prefix, query
included); the first match answers, after "delay" seconds when given (a
Docker that hangs).  Built in, after ROUTES: GET /_ping (OK), GET /events
(200, held open), anything else 404 {"message": "fake: no route for
METHOD PATH"}.  Every request is appended to LOG as one line "METHOD
PATH", before it is answered, so that a test can check what the manager
asked for (and what it never asked for).  Stops on SIGTERM.
"""
import http.server
import json
import re
import signal
import socketserver
import sys
import threading
import time


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    # Docker's own backlog is large; socketserver's 5 refused the manager's
    # non-blocking connects when many came at once.
    request_queue_size = 128


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    routes = []
    log = None
    lock = threading.Lock()

    def log_message(self, fmt, *args):  # no client address on a unix socket
        pass

    def address_string(self):
        return "unix"

    def answer(self, status, body, close=False):
        data = b"" if body is None else json.dumps(body).encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        path = re.sub(r"^/v[0-9.]+(?=/)", "", self.path)
        with Handler.lock:
            with open(Handler.log, "a") as f:
                f.write("%s %s\n" % (self.command, path))
        for r in Handler.routes:
            if r.get("method", "GET") == self.command and re.fullmatch(r["path"], path):
                time.sleep(r.get("delay", 0))
                return self.answer(r.get("status", 200), r.get("body"))
        if self.command == "GET" and path == "/_ping":
            data = b"OK"
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(data)
            return None
        if self.command == "GET" and path.startswith("/events"):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            # Held open, no events, until the manager goes away.
            while True:
                time.sleep(3600)
        return self.answer(404, {"message": "fake: no route for %s %s" % (self.command, path)})

    do_GET = do_POST = do_DELETE = do_PUT = do_HEAD = handle_any


def main():
    sock, routes, log = sys.argv[1:4]
    with open(routes) as f:
        Handler.routes = json.load(f)
    Handler.log = log
    open(log, "a").close()
    srv = Server(sock, Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    srv.serve_forever()


if __name__ == "__main__":
    main()
