#!/usr/bin/python3
"""A VM's VNC socket stand-in for startvm-manager's console tests.

    fake_vnc.py SOCKET stuck|rfb|silent|qmp

stuck: listens and never accepts, with its backlog filled (a connect()
that waits would wait for ever; a non-blocking one gets EAGAIN).
rfb: accepts every connection and sends the RFB greeting
"RFB 003.008\\n", as QEMU's VNC server does; prints "accepted N" for the
Nth connection and "closed N" once its peer has closed it.
silent: accepts every connection and never says a word (a QEMU whose
monitor is stuck).
qmp: a QMP server just big enough for query-blockstats: the greeting,
qmp_capabilities, and one disk "disk0" with fixed counters (rd_bytes
4096, wr_bytes 8192, rd_operations 2, wr_operations 3).
Prints "ready" once the socket is in that state; runs until killed.
"""
import json
import socket
import sys
import threading
import time

out = threading.Lock()


def say(*words):
    with out:
        print(*words, flush=True)


def serve(conn, n):
    """Greet, then read (and drop) what the peer sends until it closes."""
    try:
        conn.sendall(b"RFB 003.008\n")
        while conn.recv(4096):
            pass
    except OSError:  # closed before the greeting (EPIPE), or reset
        pass
    conn.close()
    say("closed", n)


def qmp(conn):
    conn.sendall(b'{"QMP": {"version": {}, "capabilities": []}}\n')
    f = conn.makefile("rb")
    for line in f:
        cmd = json.loads(line).get("execute")
        if cmd == "query-blockstats":
            ret = [{"device": "", "qdev": "/machine/peripheral/disk0/virtio-backend",
                    "stats": {"rd_bytes": 4096, "wr_bytes": 8192,
                              "rd_operations": 2, "wr_operations": 3}}]
        else:
            ret = {}
        conn.sendall(json.dumps({"return": ret}).encode() + b"\n")


def main():
    path, mode = sys.argv[1:3]
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    if mode == "stuck":
        srv.listen(0)
        held = []
        while True:
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.setblocking(False)
            try:
                c.connect(path)
            except BlockingIOError:
                c.close()
                break
            held.append(c)
        print("ready", flush=True)
        while True:
            time.sleep(3600)
    srv.listen(16)
    print("ready", flush=True)
    n = 0
    held = []
    while True:
        conn, _ = srv.accept()
        n += 1
        if mode == "silent":
            held.append(conn)
        elif mode == "qmp":
            threading.Thread(target=qmp, args=(conn,), daemon=True).start()
        else:
            say("accepted", n)
            threading.Thread(target=serve, args=(conn, n), daemon=True).start()


if __name__ == "__main__":
    main()
