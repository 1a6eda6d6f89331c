// The list of VM containers: loaded from /api/vms, then kept up to date
// by the events main.js passes to applyEvent().  Every string from Docker
// or the guest goes in with textContent.
import { api } from './api.js';
import * as spark from './spark.js'; // the cards' live graphs

const $ = (id) => document.getElementById(id);
const SHOT_EVERY_MS = 5000;

const vms = new Map(); // id -> VM object from the API
const cards = new Map(); // id -> <li>
const pending = new Map(); // id -> what the user asked for, while it runs
const errors = new Map(); // id -> the last action's error message
const visible = new Set(); // ids whose screenshot is on screen
let active = false;
let ticker = null;
let shotTimer = null;
let observer = null;

// --- what a VM looks like --------------------------------------------------------

const running = (vm) => vm.state === 'running';

// The badges: Docker's state, and the VM's phase (status.json) while it
// means something.  Kinds: ok, busy, off, bad.
function stateBadge(vm) {
  const s = vm.state || 'unknown';
  if (s === 'running') return [s, 'ok'];
  // shutdown.mode suspend: stopped by saving the guest; Start resumes it.
  if (s === 'exited' && vm.suspended) return ['suspended', 'off'];
  if (s === 'exited') return [s, vm.exit_code ? 'bad' : 'off'];
  if (s === 'dead') return [s, 'bad'];
  if (s === 'restarting' || s === 'removing' || s === 'paused') return [s, 'busy'];
  return [s, 'off'];
}

const PHASE_TEXT = {
  starting: 'starting…',
  booting: 'booting…',
  ready: 'ready',
  stopping: 'stopping…',
  stopped: 'stopped',
  failed: 'failed',
};
const PENDING_TEXT = {
  start: 'starting…',
  stop: 'stopping…',
  restart: 'restarting…',
  kill: 'force stopping…',
  delete: 'deleting…',
};

function phaseBadge(vm) {
  const p = pending.get(vm.id);
  if (p) return [PENDING_TEXT[p], 'busy'];
  if (vm.phase === 'failed') return ['failed', 'bad'];
  if (!running(vm)) return null;
  if (!vm.phase) return null; // no status.json (an older startvm): Docker's state says it all
  const kind = vm.phase === 'ready' ? 'ok' : 'busy';
  return [PHASE_TEXT[vm.phase] || vm.phase, kind];
}

function ago(iso) {
  const t = Date.parse(iso);
  if (!iso || Number.isNaN(t) || t <= 0) return null;
  let s = Math.max(0, Math.round((Date.now() - t) / 1000));
  if (s < 60) return `${s} s`;
  let m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  m %= 60;
  if (h < 48) return `${h} h ${m} min`;
  return `${Math.floor(h / 24)} days`;
}

function timeFact(vm) {
  if (running(vm)) return ['Uptime', ago(vm.started_at) || '—'];
  if (vm.state === 'exited' && vm.suspended) {
    const when = ago(vm.finished_at);
    return ['Suspended', when ? `${when} ago` : '—'];
  }
  if (vm.state === 'exited' || vm.state === 'dead') {
    const when = ago(vm.finished_at);
    return ['Exited', `code ${vm.exit_code ?? '?'}${when ? `, ${when} ago` : ''}`];
  }
  return ['Created', vm.created ? `${ago(vm.created)} ago` : '—'];
}

function portsText(vm) {
  const ps = vm.ports || [];
  if (!ps.length) return '—';
  return ps
    .map((p) => {
      const host = p.host_port ? `${p.host_ip && p.host_ip !== '0.0.0.0' ? `${p.host_ip}:` : ''}${p.host_port}` : null;
      return `${host ? `${host} → ` : ''}${p.container_port}/${p.protocol || 'tcp'}`;
    })
    .join(', ');
}

// --- rendering --------------------------------------------------------------------

function newCard(id) {
  const li = $('vm-template').content.firstElementChild.cloneNode(true);
  li.dataset.id = id;
  li.querySelector('.vm-actions').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-action]');
    if (b) act(id, b.dataset.action);
  });
  const img = li.querySelector('.shot img');
  img.addEventListener('load', () => li.querySelector('.shot').classList.remove('noshot'));
  img.addEventListener('error', () => li.querySelector('.shot').classList.add('noshot'));
  if (observer) observer.observe(li.querySelector('.shot'));
  spark.attach(li, id);
  return li;
}

function set(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

function render(vm) {
  let li = cards.get(vm.id);
  if (!li) {
    li = newCard(vm.id);
    cards.set(vm.id, li);
  }
  li.dataset.name = vm.name;
  li.dataset.state = vm.state || '';
  li.dataset.phase = vm.phase || '';
  set(li.querySelector('.vm-name'), vm.name);

  const [stext, skind] = stateBadge(vm);
  const sb = li.querySelector('.badge.state');
  set(sb, stext);
  sb.dataset.kind = skind;
  const pb = li.querySelector('.badge.phase');
  const phase = phaseBadge(vm);
  pb.hidden = !phase;
  if (phase) {
    set(pb, phase[0]);
    pb.dataset.kind = phase[1];
  }

  const err = li.querySelector('.vm-error');
  const msg = errors.get(vm.id) || (vm.phase === 'failed' && vm.phase_error) || '';
  err.hidden = !msg;
  set(err, msg);

  set(li.querySelector('.f-image'), vm.image || '—');
  set(li.querySelector('.f-address'), (vm.addresses || []).join(', ') || '—');
  set(li.querySelector('.f-mac'), vm.mac || '—');
  set(li.querySelector('.f-memory'), vm.memory_mib ? `${vm.memory_mib} MiB` : '—');
  set(li.querySelector('.f-cpus'), vm.cpus ? String(vm.cpus) : '—');
  set(li.querySelector('.f-firmware'), vm.firmware || '—');
  set(li.querySelector('.f-tpm'), vm.tpm === true ? 'TPM 2.0' : vm.tpm === false ? 'none' : '—');
  set(li.querySelector('.f-ports'), portsText(vm));
  const [tl, tv] = timeFact(vm);
  set(li.querySelector('.f-time-label'), tl);
  set(li.querySelector('.f-time'), tv);

  const c = vm.consoles || {};
  const up = running(vm);
  const ref = encodeURIComponent(vm.id);
  const shot = li.querySelector('.shot');
  const wantShot = up && c.screenshot;
  if (wantShot && shot.hidden) {
    shot.hidden = false;
    refreshShot(vm.id);
  }
  shot.hidden = !wantShot;
  shot.href = `#/vm/${ref}/vnc`;
  shot.setAttribute('aria-label', `Screen of ${vm.name}`);
  for (const [cls, kind, ok] of [
    ['.c-vnc', 'vnc', c.vnc],
    ['.c-serial', 'serial', c.serial],
  ]) {
    const a = li.querySelector(cls);
    a.hidden = !(up && ok);
    a.href = `#/vm/${ref}/${kind}`;
  }

  const busy = pending.has(vm.id);
  const can = {
    start: !up && vm.state !== 'removing' && vm.state !== 'restarting',
    stop: up || vm.state === 'restarting' || vm.state === 'paused',
    restart: up,
    kill: up || vm.state === 'restarting' || vm.state === 'paused',
    delete: vm.state !== 'removing',
  };
  // The graceful stop saves the guest when its shutdown.mode is suspend.
  const stopButton = li.querySelector('button[data-action="stop"]');
  set(stopButton, vm.shutdown_mode === 'suspend' ? 'Suspend' : 'Stop');
  for (const b of li.querySelectorAll('button[data-action]')) {
    const a = b.dataset.action;
    b.hidden = !can[a] && a !== 'delete';
    b.disabled = busy || !can[a];
    b.setAttribute('aria-label', `${b.textContent} ${vm.name}`);
  }
  return li;
}

function renderAll() {
  const ul = $('vm-list');
  const sorted = [...vms.values()].sort((a, b) => a.name.localeCompare(b.name));
  sorted.forEach((vm, i) => {
    const li = render(vm);
    if (ul.children[i] !== li) ul.insertBefore(li, ul.children[i] || null);
  });
  for (const [id, li] of cards) {
    if (!vms.has(id)) {
      if (observer) observer.unobserve(li.querySelector('.shot'));
      li.remove();
      cards.delete(id);
      spark.detach(id);
      visible.delete(id);
    }
  }
  const n = sorted.length;
  const up = sorted.filter(running).length;
  $('list-empty').hidden = n !== 0;
  $('list-summary').textContent = n ? `${n} VM${n === 1 ? '' : 's'}, ${up} running` : '';
}

// --- screenshots: one <img> per running VM, reloaded while it is on screen ---------

function refreshShot(id) {
  const li = cards.get(id);
  if (!li) return;
  li.querySelector('.shot img').src = api.screenshotUrl(id);
}

function refreshVisibleShots() {
  if (!active || document.visibilityState !== 'visible') return;
  for (const id of visible) {
    const vm = vms.get(id);
    if (vm && running(vm) && vm.consoles && vm.consoles.screenshot) refreshShot(id);
  }
}

// --- actions --------------------------------------------------------------------

async function act(id, action) {
  const vm = vms.get(id);
  if (!vm) return;
  let volumes = false;
  if (action === 'delete') {
    const answer = await confirmDelete(vm);
    if (answer === null) return;
    volumes = answer;
  }
  pending.set(id, action);
  errors.delete(id);
  render(vm);
  try {
    if (action === 'delete') {
      await api.remove(id, volumes);
      vms.delete(id);
    } else {
      await api.action(id, action);
      // The events bring the new state; ask too, in case they are late.
      vms.set(id, await api.vm(id));
    }
  } catch (e) {
    errors.set(id, e.message);
  } finally {
    pending.delete(id);
    renderAll();
  }
}

// Resolves to null (cancelled), true (delete the volume too) or false.
function confirmDelete(vm) {
  const dlg = $('delete-dialog');
  $('delete-name').textContent = vm.name;
  const hasVolume = !!vm.volume;
  $('delete-volume').textContent = vm.volume || '';
  $('delete-volume').parentElement.hidden = !hasVolume;
  $('delete-volume-choice').hidden = !hasVolume;
  dlg.querySelector('input[name=volumes][value=false]').checked = true;
  dlg.returnValue = '';
  dlg.showModal();
  $('delete-cancel').focus();
  return new Promise((resolve) => {
    dlg.addEventListener(
      'close',
      () => {
        if (dlg.returnValue !== 'delete') return resolve(null);
        resolve(hasVolume && dlg.querySelector('input[name=volumes]:checked').value === 'true');
      },
      { once: true },
    );
  });
}

// --- what main.js calls ----------------------------------------------------------

export async function reload() {
  try {
    const list = await api.vms();
    vms.clear();
    for (const vm of list) vms.set(vm.id, vm);
    $('list-error').textContent = '';
  } catch (e) {
    if (e.status === 401) return;
    $('list-error').textContent = e.message;
  }
  renderAll();
}

export function applyEvent(e) {
  if (!e || !e.id) return;
  if (e.vm) vms.set(e.id, e.vm);
  else vms.delete(e.id);
  renderAll();
}

export function get(id) {
  for (const vm of vms.values()) if (vm.id === id || vm.name === id) return vm;
  return null;
}

// Main calls enter/leave as the route changes.
export function enter() {
  active = true;
  if (!observer && 'IntersectionObserver' in window) {
    observer = new IntersectionObserver((entries) => {
      for (const en of entries) {
        const id = en.target.closest('.vm').dataset.id;
        if (en.isIntersecting) visible.add(id);
        else visible.delete(id);
      }
    });
    for (const li of cards.values()) observer.observe(li.querySelector('.shot'));
  }
  renderAll();
  refreshVisibleShots();
  ticker = setInterval(() => {
    for (const vm of vms.values()) {
      const li = cards.get(vm.id);
      if (li) set(li.querySelector('.f-time'), timeFact(vm)[1]);
    }
  }, 5000);
  shotTimer = setInterval(refreshVisibleShots, SHOT_EVERY_MS);
  spark.start();
}

export function leave() {
  active = false;
  clearInterval(ticker);
  clearInterval(shotTimer);
  spark.stop();
}

document.addEventListener('visibilitychange', refreshVisibleShots);

// create.js made one: show it at once and point at it for a while.
document.addEventListener('sv:created', (ev) => {
  const vm = ev.detail;
  vms.set(vm.id, vm);
  renderAll();
  const li = cards.get(vm.id);
  li.classList.add('fresh');
  setTimeout(() => li.classList.remove('fresh'), 8000);
  requestAnimationFrame(() => li.scrollIntoView({ block: 'nearest' }));
});
