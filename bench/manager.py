"""Measurements for bench/manager (see there).  Args: URL PASSWORD
DOCKER_SOCKET STATE_DIR ONE_CONTAINER_NAME N MANAGER_PID."""
import asyncio, http.client, json, os, socket, ssl, statistics, subprocess, sys, threading, time
import websockets

url, pw, sock_path, state_dir, one, n, pid = sys.argv[1:8]
n = int(n)
host = url.split("://")[1]
CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE
AUTH = {"Authorization": "Bearer " + pw}


def rss():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return line.split()[1] + " KiB"


class UnixConn(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(sock_path)


def timed(conn, path, headers=None):
    t = time.perf_counter()
    conn.request("GET", path, headers=headers or {})
    r = conn.getresponse()
    body = r.read()
    return (time.perf_counter() - t) * 1000, r.status, body


def ms(xs):
    return f"median {statistics.median(xs):.1f} ms (min {min(xs):.1f}, max {max(xs):.1f})"


# ---- GET /api/vms ----
mgr = http.client.HTTPSConnection(host, context=CTX)
cold, st, body = timed(mgr, "/api/vms", AUTH)
count = len(json.loads(body)["vms"])
warm = [timed(mgr, "/api/vms", AUTH)[0] for _ in range(15)]
dock = UnixConn("docker")
direct = [timed(dock, "/v1.41/containers/json?all=1")[0] for _ in range(15)]
print(f"GET /api/vms with {count} VM containers ({len(body)} bytes): first {cold:.1f} ms; then {ms(warm)}")
print(f"  podman's GET /containers/json?all=1 on the same socket: {ms(direct)}")
print(f"RSS after listing: {rss()}")

# ---- event latency ----
events = {"podman": {}, "manager": {}}


def follow_podman():
    c = UnixConn("docker")
    c.request("GET", '/v1.41/events?filters={"type":["container"]}')
    r = c.getresponse()
    while True:
        chunk = r.readline()
        if not chunk:
            return
        try:
            e = json.loads(chunk)
        except ValueError:
            continue
        if not isinstance(e, dict):
            continue
        key = (e.get("Actor", {}).get("ID") or e.get("id"), e.get("Action"))
        events["podman"].setdefault(key, time.perf_counter())


def follow_manager():
    c = http.client.HTTPSConnection(host, context=CTX)
    c.request("GET", "/api/events", headers=AUTH)
    r = c.getresponse()
    while True:
        line = r.readline()
        if not line:
            return
        if line.startswith(b"data: "):
            e = json.loads(line[6:])
            if "action" in e:
                events["manager"].setdefault((e["id"], e["action"]), time.perf_counter())


for f in (follow_podman, follow_manager):
    threading.Thread(target=f, daemon=True).start()
time.sleep(1.5)
cid = subprocess.check_output(["podman", "inspect", "-f", "{{.Id}}", one], text=True).strip()
added, total = [], []
for i in range(10):
    for cmd, action in ((["podman", "kill", one], "died"), (["podman", "start", one], "start")):
        events["podman"].clear()
        events["manager"].clear()
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
        # podman says "died"; the manager passes Docker's action on ("died" too)
        for _ in range(300):
            if (cid, action) in events["manager"] and (cid, action) in events["podman"]:
                break
            time.sleep(0.01)
        tm, tp = events["manager"].get((cid, action)), events["podman"].get((cid, action))
        if tm and tp:
            added.append((tm - tp) * 1000)
            total.append((tm - t0) * 1000)
if added:
    print(f"events: the manager's SSE after podman's own event stream: {ms(added)} ({len(added)} events)")
    print(f"  from the podman command's start to the manager's SSE event: {ms(total)}")
else:
    print("events: none seen")

# ---- VNC proxy ----
vmdir = os.path.join(state_dir, one, cid)
os.makedirs(vmdir, exist_ok=True)
vnc = os.path.join(vmdir, "vnc")
if os.path.exists(vnc):
    os.unlink(vnc)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
os.chdir(vmdir)  # a short name: sun_path holds 108 bytes
srv.bind("vnc")
srv.listen(8)
STREAM = 256 << 20


def serve():
    while True:
        c, _ = srv.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()


def handle(c):
    mode = c.recv(1)
    if mode == b"T":
        chunk = b"\xa5" * (1 << 20)
        for _ in range(STREAM >> 20):
            c.sendall(chunk)
        c.close()
    else:
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)


threading.Thread(target=serve, daemon=True).start()


def direct_stream():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect("vnc")
    t = time.perf_counter()
    s.sendall(b"T")
    got = 0
    while got < STREAM:
        d = s.recv(1 << 20)
        if not d:
            break
        got += len(d)
    return got / (time.perf_counter() - t) / 1e6


def direct_rtt():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect("vnc")
    s.sendall(b"E")
    out = []
    for _ in range(500):
        t = time.perf_counter()
        s.sendall(b"x")
        s.recv(1)
        out.append((time.perf_counter() - t) * 1000)
    return out


async def ws_stream():
    wsurl = "wss://" + host + f"/api/vms/{one}/vnc"
    async with websockets.connect(wsurl, ssl=CTX, extra_headers=AUTH, max_size=None,
                                  compression=None) as ws:
        t = time.perf_counter()
        await ws.send(b"T")
        got = 0
        while got < STREAM:
            got += len(await ws.recv())
        return got / (time.perf_counter() - t) / 1e6


async def ws_rtt():
    wsurl = "wss://" + host + f"/api/vms/{one}/vnc"
    async with websockets.connect(wsurl, ssl=CTX, extra_headers=AUTH, compression=None) as ws:
        await ws.send(b"E")
        out = []
        for _ in range(500):
            t = time.perf_counter()
            await ws.send(b"x")
            await ws.recv()
            out.append((time.perf_counter() - t) * 1000)
        return out


d_tp = max(direct_stream() for _ in range(3))
w_tp = max(asyncio.run(ws_stream()) for _ in range(3))
d_rtt = direct_rtt()
w_rtt = asyncio.run(ws_rtt())
print(f"VNC proxy throughput (256 MiB, best of 3): direct {d_tp:.0f} MB/s, through the manager "
      f"(wss, python client) {w_tp:.0f} MB/s = {100 * w_tp / d_tp:.0f} %")
print(f"VNC round trip of 1 byte: direct median {statistics.median(d_rtt) * 1000:.0f} us, through the "
      f"manager {statistics.median(w_rtt) * 1000:.0f} us: added "
      f"{(statistics.median(w_rtt) - statistics.median(d_rtt)) * 1000:.0f} us")
print(f"RSS after the VNC runs: {rss()}")
