"""Measurements for bench/manager (see there).  Args: URL PASSWORD
DOCKER_SOCKET STATE_DIR ONE_CONTAINER_NAME N MANAGER_PID WS_CLIENT."""
import http.client, json, os, shutil, socket, ssl, statistics, subprocess, sys, tempfile, threading, time

url, pw, sock_path, state_dir, one, n, pid, wsclient = sys.argv[1:9]
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


def manager_conn():
    if url.startswith("https"):
        return http.client.HTTPSConnection(host, context=CTX)
    return http.client.HTTPConnection(host)


def timed(conn, path, headers=None):
    t = time.perf_counter()
    conn.request("GET", path, headers=headers or {})
    r = conn.getresponse()
    body = r.read()
    return (time.perf_counter() - t) * 1000, r.status, body


def ms(xs):
    return f"median {statistics.median(xs):.1f} ms (min {min(xs):.1f}, max {max(xs):.1f})"


# ---- GET /api/vms ----
mgr = manager_conn()
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
    c = manager_conn()
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
vnc_path = os.path.relpath(vnc)
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
        # Closed by the client once it has every byte: a proxy that drops
        # what it holds when the target closes (websockify) is not cut short.
        c.recv(1)
        c.close()
    else:
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)


threading.Thread(target=serve, daemon=True).start()


def cpu_s(p):
    """User + system CPU seconds of process p so far."""
    with open(f"/proc/{p}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def client(*args):
    return float(subprocess.check_output([wsclient, *map(str, args)], text=True))


hostname, port = host.rsplit(":", 1)
scheme = "wss" if url.startswith("https") else "ws"
path = f"/api/vms/{one}/vnc"
d_tp = max(client("unix", vnc_path, "T", STREAM) for _ in range(3))
m0, k0 = cpu_s(pid), os.times()
w_tp = max(client(scheme, hostname, port, path, pw, "T", STREAM) for _ in range(3))
mgr_cpu, k1 = cpu_s(pid) - m0, os.times()
client_cpu = (k1.children_user + k1.children_system) - (k0.children_user + k0.children_system)
d_rtt = statistics.median(client("unix", vnc_path, "E", 2000) for _ in range(3))
w_rtt = statistics.median(client(scheme, hostname, port, path, pw, "E", 2000) for _ in range(3))
print(f"VNC proxy throughput (256 MiB, best of 3, C clients): direct {d_tp:.0f} MB/s, through the "
      f"manager ({scheme}) {w_tp:.0f} MB/s = {100 * w_tp / d_tp:.0f} %")
print(f"  the manager's CPU for the 3 x 256 MiB: {mgr_cpu:.2f} s "
      f"({3 * STREAM / 1e6 / max(mgr_cpu, 0.01):.0f} MB per CPU second); the client's: "
      f"{client_cpu:.2f} s ({3 * STREAM / 1e6 / max(client_cpu, 0.01):.0f} MB per CPU second)")
print(f"VNC round trip of 1 byte (median of 3 x 2000): direct {d_rtt:.0f} us, through the manager "
      f"{w_rtt:.0f} us: added {w_rtt - d_rtt:.0f} us")

# The same stream read by a client that is not the bottleneck (Python's
# websockets reads a frame's payload in one piece), through the manager
# and through websockify (the proxy noVNC ships with, Debian's package) on
# the same socket, with the same kind of TLS certificate (EC P-256).
wsdir = tempfile.mkdtemp()
if scheme == "wss":
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-subj", "/CN=127.0.0.1", "-days", "1", "-keyout", f"{wsdir}/key.pem",
                    "-out", f"{wsdir}/cert.pem"], check=True, capture_output=True)
probe = socket.socket()
probe.bind(("127.0.0.1", 0))
wport = probe.getsockname()[1]
probe.close()
# Run where the socket is: its full path is longer than sun_path's 108 bytes.
wsf = subprocess.Popen(["websockify", f"--unix-target={vnc_path}"]
                       + ([f"--cert={wsdir}/cert.pem", f"--key={wsdir}/key.pem", "--ssl-only"]
                          if scheme == "wss" else [])
                       + [f"127.0.0.1:{wport}"], cwd=os.getcwd(), stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", wport)).close()
        break
    except OSError:
        time.sleep(0.1)
py_client = os.path.join(os.path.dirname(os.path.abspath(__file__)), "manager_ws.py")


def py_tp(u):
    return float(subprocess.check_output([sys.executable, py_client, u, pw, str(STREAM)], text=True))


try:
    m0 = cpu_s(pid)
    p_mgr = max(py_tp(f"{scheme}://{host}{path}") for _ in range(3))
    p_mgr_cpu = cpu_s(pid) - m0
    p_wsf = max(py_tp(f"{scheme}://127.0.0.1:{wport}/") for _ in range(3))
finally:
    wsf.terminate()
    wsf.wait()
    shutil.rmtree(wsdir)
print(f"VNC proxy throughput (256 MiB, best of 3, Python websockets client, {scheme}): "
      f"through the manager {p_mgr:.0f} MB/s, through websockify {p_wsf:.0f} MB/s: "
      f"{100 * p_mgr / p_wsf:.0f} % of websockify, {100 * p_mgr / d_tp:.0f} % of direct")
print(f"  the manager's CPU for these 3 x 256 MiB: {p_mgr_cpu:.2f} s "
      f"({3 * STREAM / 1e6 / max(p_mgr_cpu, 0.01):.0f} MB per CPU second)")
print(f"RSS after the VNC runs: {rss()}")
