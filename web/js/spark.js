// Live sparklines on each VM card: CPU, memory, disk and network over the
// last minutes, from GET /metrics (the Prometheus text the manager
// exports; docs/manager.md "Metrics").  Only the cards on screen
// (IntersectionObserver) are asked for (/metrics?vm=ID&vm=ID...), and only
// while the tab is visible.  Plain SVG polylines: no framework, no inline
// style (the page's CSP), no build step.
//
// list.js calls attach(card, id) for a new card, detach(id) when it goes,
// and start()/stop() as the list view is entered and left.

const EVERY_MS = 5000;
const POINTS = 60; // 5 minutes at EVERY_MS
const SVG = 'http://www.w3.org/2000/svg';
const W = 100;
const H = 24;

const KINDS = [
  { kind: 'cpu', label: 'CPU', fmt: (v) => `${v.toFixed(v < 10 ? 1 : 0)} %` },
  { kind: 'mem', label: 'Memory', fmt: bytes },
  { kind: 'disk', label: 'Disk', fmt: (v) => `${bytes(v)}/s` },
  { kind: 'net', label: 'Network', fmt: (v) => `${bytes(v)}/s` },
];

const boxes = new Map(); // id -> the .sparks element
const onScreen = new Set();
const history = new Map(); // id -> { prev: {t, cpu, disk, net}, cpu: [], mem: [], disk: [], net: [] }
let observer = null;
let timer = null;
let active = false;
let busy = false;

function bytes(v) {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 && i ? 1 : 0)} ${u[i]}`;
}

function el(name, attrs, ns) {
  const e = ns ? document.createElementNS(SVG, name) : document.createElement(name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

function build(id) {
  const box = el('div', { class: 'sparks', 'aria-label': 'Resource use, last 5 minutes' });
  for (const k of KINDS) {
    const fig = el('figure', { class: 'spark', 'data-kind': k.kind });
    const cap = el('figcaption');
    cap.append(el('span', { class: 'spark-label' }), el('span', { class: 'spark-value' }));
    cap.firstChild.textContent = k.label;
    cap.lastChild.textContent = '—';
    const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img' }, true);
    svg.append(el('polyline', { points: '', 'vector-effect': 'non-scaling-stroke' }, true));
    fig.append(cap, svg);
    box.append(fig);
  }
  box.dataset.id = id;
  return box;
}

export function attach(card, id) {
  if (boxes.has(id)) return;
  const box = build(id);
  (card.querySelector('.vm-body') || card).insertBefore(box, card.querySelector('.vm-actions'));
  boxes.set(id, box);
  if (observer) observer.observe(box);
}

export function detach(id) {
  const box = boxes.get(id);
  if (box && observer) observer.unobserve(box);
  boxes.delete(id);
  onScreen.delete(id);
  history.delete(id);
}

// --- the numbers ---------------------------------------------------------------------

// Prometheus text -> Map(id -> {cpu, mem, disk, net}), summing a VM's disks and NICs.
export function parse(text) {
  const out = new Map();
  const re = /^(startvm_vm_[a-z_]+)\{([^}]*)\} (\S+)$/;
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (!m) continue;
    const id = /(?:^|,)id="([0-9a-f]{64})"/.exec(m[2]);
    if (!id) continue;
    const v = Number(m[3]);
    if (!Number.isFinite(v)) continue;
    const r = out.get(id[1]) || { cpu: null, mem: null, disk: null, net: null };
    out.set(id[1], r);
    const add = (k) => {
      r[k] = (r[k] || 0) + v;
    };
    switch (m[1]) {
      case 'startvm_vm_cpu_seconds_total':
        r.cpu = v;
        break;
      case 'startvm_vm_memory_usage_bytes':
        r.mem = v;
        break;
      case 'startvm_vm_disk_read_bytes_total':
      case 'startvm_vm_disk_written_bytes_total':
        add('disk');
        break;
      case 'startvm_vm_network_receive_bytes_total':
      case 'startvm_vm_network_transmit_bytes_total':
        add('net');
        break;
      default:
    }
  }
  return out;
}

function push(arr, v) {
  arr.push(v);
  if (arr.length > POINTS) arr.shift();
}

// A counter's rate per second since the last scrape; null across a reset.
const rate = (now, prev, dt) => (now == null || prev == null || now < prev || dt <= 0 ? null : (now - prev) / dt);

function record(id, r, t) {
  let h = history.get(id);
  if (!h) {
    h = { prev: null, cpu: [], mem: [], disk: [], net: [] };
    history.set(id, h);
  }
  const p = h.prev;
  const dt = p ? (t - p.t) / 1000 : 0;
  if (p) {
    const cpu = rate(r.cpu, p.cpu, dt);
    push(h.cpu, cpu == null ? null : cpu * 100);
    push(h.disk, rate(r.disk, p.disk, dt));
    push(h.net, rate(r.net, p.net, dt));
  }
  push(h.mem, r.mem);
  h.prev = { t, cpu: r.cpu, disk: r.disk, net: r.net };
  draw(id);
}

function draw(id) {
  const box = boxes.get(id);
  const h = history.get(id);
  if (!box || !h) return;
  for (const k of KINDS) {
    const vals = h[k.kind];
    const fig = box.querySelector(`[data-kind=${k.kind}]`);
    const known = vals.filter((v) => v != null);
    const max = Math.max(...known, k.kind === 'cpu' ? 100 : 1);
    const step = W / (POINTS - 1);
    const x0 = W - step * (vals.length - 1);
    const pts = [];
    vals.forEach((v, i) => {
      if (v != null) pts.push(`${(x0 + i * step).toFixed(1)},${(H - 1 - (v / max) * (H - 2)).toFixed(1)}`);
    });
    fig.querySelector('polyline').setAttribute('points', pts.join(' '));
    const last = vals.length ? vals[vals.length - 1] : null;
    fig.querySelector('.spark-value').textContent = last == null ? '—' : k.fmt(last);
    fig.dataset.points = String(pts.length);
  }
}

async function tick() {
  if (!active || busy || document.visibilityState !== 'visible' || onScreen.size === 0) return;
  busy = true;
  try {
    const q = [...onScreen].map((id) => `vm=${encodeURIComponent(id)}`).join('&');
    const res = await fetch(`/metrics?${q}`, { credentials: 'same-origin' });
    if (!res.ok) return;
    const got = parse(await res.text());
    const t = Date.now();
    for (const [id, r] of got) if (boxes.has(id)) record(id, r, t);
  } catch {
    // The list shows the manager's trouble; the graphs just pause.
  } finally {
    busy = false;
  }
}

export function start() {
  active = true;
  if (!observer && 'IntersectionObserver' in window) {
    observer = new IntersectionObserver((entries) => {
      let added = false;
      for (const en of entries) {
        const id = en.target.dataset.id;
        if (en.isIntersecting && boxes.get(id) === en.target) {
          added = added || !onScreen.has(id);
          onScreen.add(id);
        } else onScreen.delete(id);
      }
      if (added) tick();
    });
    for (const box of boxes.values()) observer.observe(box);
  }
  if (!timer) timer = setInterval(tick, EVERY_MS);
  tick();
}

export function stop() {
  active = false;
  clearInterval(timer);
  timer = null;
}

document.addEventListener('visibilitychange', tick);
