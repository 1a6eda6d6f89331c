#!/usr/bin/python3
"""Send an HTTP request's headers and none of its body, and print the
answer that comes without it: "STATUS BODY", or "none" when none came
within TIMEOUT seconds (a server waiting for the body).  For the
manager's tests of what is answered from the headers alone.

    headers_only.py URL METHOD CONTENT_LENGTH TIMEOUT [HEADER...]

URL is http:// or https:// (the certificate is not checked); HEADER is
"Name: value".  Content-Length is sent as given, the body never.
"""
import socket
import ssl
import sys
import time
import urllib.parse


def main():
    url, method, length, timeout = sys.argv[1:5]
    u = urllib.parse.urlsplit(url)
    sock = socket.create_connection((u.hostname, u.port), timeout=float(timeout))
    if u.scheme == "https":
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        sock = ctx.wrap_socket(sock, server_hostname=u.hostname)
    lines = ["%s %s HTTP/1.1" % (method, u.path or "/"), "Host: %s" % u.netloc,
             "Content-Length: %s" % length] + sys.argv[5:]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    deadline = time.monotonic() + float(timeout)
    data = b""
    while True:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if sep:
            want = 0
            for h in head.split(b"\r\n")[1:]:
                name, _, value = h.partition(b":")
                if name.strip().lower() == b"content-length":
                    want = int(value)
            if len(rest) >= want:
                status = head.split(b" ")[1].decode()
                print(status, rest[:want].decode())
                return
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except (socket.timeout, ssl.SSLError, ConnectionError):
            break
        if not chunk:
            break
        data += chunk
    print("none")


if __name__ == "__main__":
    main()
