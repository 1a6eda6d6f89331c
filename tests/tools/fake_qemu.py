#!/usr/bin/python3
"""A stand-in for qemu-system-x86_64 (vm.yaml's qemu.binary) for tests that
start and stop startvm hundreds of times: it keeps QEMU's side of the
contract with startvm without booting a guest.

  - Every `-netdev tap,id=ID,fd=N` must name an open fd that is a tap
    (TUNGETIFF answers); the NIC's MAC comes from the `-device ...,netdev=ID,
    mac=MAC` that uses it.  Prints "FAKEQEMU: tap ID fd=N ifname=tapK".
  - Prints the fds it inherited ("FAKEQEMU: fds 0,1,2,10"): anything beyond
    stdio and the taps leaked out of startvm.
  - FAKE_QEMU_DHCP=1: for the first NIC, a DHCP client on the tap fd with
    the VM's MAC, through the real bridge to the real dnsmasq (DISCOVER,
    OFFER, REQUEST, ACK; the frames carry the 10-byte virtio-net header that
    IFF_VNET_HDR asks for), and prints the lease as the tiny guest does:
    "FAKEQEMU: lease eth0 ip=A mask=N router=R hostname=H mac=M server=S",
    or "FAKEQEMU: nolease eth0 mac=M" after FAKE_QEMU_DHCP_TIMEOUT seconds
    (default 60) and exits 1.
  - FAKE_QEMU_HOLD=1: then waits for SIGTERM (QEMU quits with 0 on it);
    otherwise exits 0 at once, as a guest that powers off does.
Output goes to stdout (the serial console's place)."""

import fcntl
import os
import random
import select
import signal
import socket
import struct
import sys
import time

TUNGETIFF = 0x800454D2
VNET_HDR = 10


def say(s):
    sys.stdout.write("FAKEQEMU: %s\n" % s)
    sys.stdout.flush()


def parse_args(argv):
    netdevs, macs = {}, {}
    for i, a in enumerate(argv[:-1]):
        v = argv[i + 1]
        if a == "-netdev" and v.startswith("tap,"):
            kv = dict(p.split("=", 1) for p in v.split(",")[1:] if "=" in p)
            netdevs[kv["id"]] = int(kv["fd"])
        elif a == "-device" and "netdev=" in v:
            kv = dict(p.split("=", 1) for p in v.split(",")[1:] if "=" in p)
            macs[kv["netdev"]] = kv.get("mac", "")
    return netdevs, macs


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def dhcp_frame(mac, xid, msgtype, extra):
    opts = bytes([53, 1, msgtype]) + extra
    opts += bytes([55, 7, 1, 3, 6, 12, 15, 26, 121, 255])
    bootp = struct.pack("!BBBBIHH4s4s4s4s16s64s128s4s", 1, 1, 6, 0, xid, 0, 0x8000,
                        b"\0" * 4, b"\0" * 4, b"\0" * 4, b"\0" * 4, mac + b"\0" * 10,
                        b"\0" * 64, b"\0" * 128, b"\x63\x82\x53\x63") + opts
    udp = struct.pack("!HHHH", 68, 67, 8 + len(bootp), 0) + bootp
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     b"\0" * 4, b"\xff" * 4)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = b"\xff" * 6 + mac + b"\x08\x00"
    return b"\0" * VNET_HDR + eth + ip + udp


def parse_reply(frame, mac, xid):
    """The DHCP options of a reply to us, or None."""
    f = frame[VNET_HDR:]
    if len(f) < 14 + 20 + 8 + 240 or f[12:14] != b"\x08\x00":
        return None
    ihl = (f[14] & 0xF) * 4
    if f[14 + 9] != 17:
        return None
    udp = f[14 + ihl:]
    if struct.unpack("!H", udp[2:4])[0] != 68:
        return None
    b = udp[8:]
    if b[0] != 2 or struct.unpack("!I", b[4:8])[0] != xid or b[28:34] != mac:
        return None
    opts, i = {"yiaddr": socket.inet_ntoa(b[16:20])}, 240
    while i < len(b) and b[i] != 255:
        if b[i] == 0:
            i += 1
            continue
        opts[b[i]] = b[i + 2:i + 2 + b[i + 1]]
        i += 2 + b[i + 1]
    return opts


def dhcp(fd, mac_s, timeout):
    mac = bytes.fromhex(mac_s.replace(":", ""))
    xid = random.getrandbits(32)
    deadline = time.monotonic() + timeout
    state, offer, interval = 1, None, 0.1
    while time.monotonic() < deadline:
        extra = b""
        if state == 3:
            extra = bytes([50, 4]) + socket.inet_aton(offer["yiaddr"]) + bytes([54, 4]) + offer[54]
        os.write(fd, dhcp_frame(mac, xid, state, extra))
        # dnsmasq may not listen yet when we start: retransmit soon, then
        # less often (0.1 s, doubling up to 1 s).
        resend = time.monotonic() + interval
        interval = min(interval * 2, 1.0)
        while True:
            left = resend - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                break
            try:
                frame = os.read(fd, 65536)
            except BlockingIOError:
                continue
            o = parse_reply(frame, mac, xid)
            if o is None or 53 not in o:
                continue
            if state == 1 and o[53][0] == 2:
                state, offer = 3, o
                break
            if state == 3 and o[53][0] == 5:
                return o
            if state == 3 and o[53][0] == 6:  # NAK: start over
                state = 1
                break
    return None


def main():
    netdevs, macs = parse_args(sys.argv[1:])
    fds = sorted(int(f) for f in os.listdir("/proc/self/fd"))
    # listdir's own fd is closed again by now.
    fds = [f for f in fds if os.path.exists("/proc/self/fd/%d" % f)]
    say("fds " + ",".join(str(f) for f in fds))
    for nid, fd in sorted(netdevs.items()):
        try:
            ifr = fcntl.ioctl(fd, TUNGETIFF, b"\0" * 40)
        except OSError as e:
            say("tap %s fd=%d not-a-tap %s" % (nid, fd, e.strerror))
            return 1
        say("tap %s fd=%d ifname=%s mac=%s" % (nid, fd, ifr[:16].rstrip(b"\0").decode(),
                                                macs.get(nid, "")))
    if os.environ.get("FAKE_QEMU_DHCP") == "1" and netdevs:
        nid, fd = sorted(netdevs.items())[0]
        os.set_blocking(fd, False)
        o = dhcp(fd, macs[nid], float(os.environ.get("FAKE_QEMU_DHCP_TIMEOUT", "60")))
        if o is None:
            say("nolease eth0 mac=%s" % macs[nid])
            return 1
        mask = bin(struct.unpack("!I", o.get(1, b"\0" * 4))[0]).count("1")
        router = socket.inet_ntoa(o[3][:4]) if 3 in o else ""
        say("lease eth0 ip=%s mask=%d router=%s hostname=%s mac=%s server=%s" %
            (o["yiaddr"], mask, router, o.get(12, b"").decode(), macs[nid],
             socket.inet_ntoa(o[54]) if 54 in o else ""))
    if os.environ.get("FAKE_QEMU_HOLD") == "1":
        while True:
            signal.pause()
    return 0


if __name__ == "__main__":
    # QEMU quits with status 0 on SIGTERM and SIGINT, whenever they come
    # (startvm's hard stop, or PR_SET_PDEATHSIG when startvm dies).
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: os._exit(0))
    sys.exit(main())
