// A running VM's consoles: its screen with noVNC (Debian's novnc, served
// at /novnc/) and its serial line with term.js (Debian's libjs-term.js,
// served at /termjs/; a classic script that defines window.Terminal).
// Both ride WebSockets the manager proxies; when the VM stops the server
// closes them with code 1000 and a reason, which is shown as it came.  A
// console the manager refuses after the upgrade (no such VM, not running,
// Docker failed) is closed with 4000 + the HTTP status and the error as
// the reason.
import { api } from './api.js';

const $ = (id) => document.getElementById(id);

let session = 0; // bumped on every enter/leave: late callbacks of an old view do nothing
let rfb = null;
let term = null;
let serialWs = null;
let route = null;

function status(text, kind) {
  const s = $('console-status');
  s.textContent = text;
  s.dataset.kind = kind || '';
}

function closedText(ev) {
  if (ev && ev.code >= 4000 && ev.code < 5000 && ev.reason) return `Console refused: ${ev.reason}`;
  if (ev && ev.reason) return `Console closed: ${ev.reason}`;
  if (ev && ev.code === 1000) return 'Console closed.';
  return `Console closed${ev && ev.code ? ` (code ${ev.code})` : ''}: the connection was lost or refused.`;
}

function closed(ev) {
  status(closedText(ev), ev && ev.code === 1000 ? 'off' : 'bad');
  $('console-reconnect').hidden = false;
  $('vnc-tools').hidden = true;
}

// --- VNC -------------------------------------------------------------------------

let RFB = null;
let keysyms = null;
let KeyTable = null;

async function loadNoVNC() {
  if (!RFB) {
    [RFB, keysyms, KeyTable] = await Promise.all([
      import('/novnc/core/rfb.js').then((m) => m.default),
      import('/novnc/core/input/keysymdef.js').then((m) => m.default),
      import('/novnc/core/input/keysym.js').then((m) => m.default),
    ]);
  }
}

async function openVnc(id, my) {
  try {
    await loadNoVNC();
  } catch (e) {
    status(`The VNC client did not load from /novnc/ (${e.message}).`, 'bad');
    return;
  }
  if (my !== session) return;
  const screen = $('vnc-screen');
  screen.replaceChildren();
  screen.hidden = false;
  // Our own WebSocket, so its close event (code, reason) is ours to show;
  // noVNC takes it as a ready channel.
  const ws = new WebSocket(api.socketUrl(id, 'vnc'));
  let closeEv = null;
  ws.addEventListener('close', (ev) => {
    closeEv = ev;
  });
  rfb = new RFB(screen, ws, { shared: true });
  rfb.scaleViewport = $('vnc-scale').checked;
  rfb.resizeSession = false;
  rfb.focusOnClick = true;
  rfb.addEventListener('connect', () => {
    if (my !== session) return;
    status('Connected. Click the screen to type into the VM.', 'ok');
    $('vnc-tools').hidden = false;
    rfb.focus();
  });
  rfb.addEventListener('disconnect', () => {
    // The WebSocket's close event may come just after noVNC's.
    setTimeout(() => my === session && closed(closeEv), 0);
    rfb = null;
  });
  rfb.addEventListener('securityfailure', (e) => {
    if (my === session) status(`VNC security failure: ${e.detail.reason || e.detail.status}`, 'bad');
  });
}

// US keyboard: characters typed with Shift held.
const SHIFTED = new Set('~!@#$%^&*()_+{}|:"<>?ABCDEFGHIJKLMNOPQRSTUVWXYZ');

// Paste as typed keys: the VM sees key presses, not a clipboard (a text
// console or a login prompt has no clipboard).  At a typist's pace: a
// PS/2 keyboard holds 16 scancodes, and a busy guest drops what a burst
// brings beyond them.
const KEY_GAP_MS = 30;
let typing = Promise.resolve();
const pause = (ms) => new Promise((r) => setTimeout(r, ms));

function typeText(text) {
  const my = session;
  typing = typing.then(async () => {
    for (const ch of text.replace(/\r\n?/g, '\n')) {
      if (!rfb || my !== session) return;
      let sym;
      if (ch === '\n') sym = KeyTable.XK_Return;
      else if (ch === '\t') sym = KeyTable.XK_Tab;
      else sym = keysyms.lookup(ch.codePointAt(0));
      if (!sym) continue;
      const shift = SHIFTED.has(ch);
      if (shift) rfb.sendKey(KeyTable.XK_Shift_L, 'ShiftLeft', true);
      rfb.sendKey(sym, null);
      if (shift) rfb.sendKey(KeyTable.XK_Shift_L, 'ShiftLeft', false);
      await pause(KEY_GAP_MS);
    }
    if (rfb) rfb.focus();
  });
}

$('vnc-cad').addEventListener('click', () => rfb && rfb.sendCtrlAltDel());
$('vnc-scale').addEventListener('change', (ev) => {
  if (rfb) rfb.scaleViewport = ev.target.checked;
});
$('vnc-paste-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  typeText($('vnc-paste').value);
  $('vnc-paste').value = '';
  ev.target.closest('details').open = false;
});

// --- serial ------------------------------------------------------------------------

function loadTermJs() {
  if (window.Terminal) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = '/termjs/term.js';
    s.addEventListener('load', resolve);
    s.addEventListener('error', () => reject(new Error('/termjs/term.js did not load')));
    document.head.appendChild(s);
  });
}

async function openSerial(id, my) {
  try {
    await loadTermJs();
  } catch (e) {
    status(`The serial console did not load (${e.message}).`, 'bad');
    return;
  }
  if (my !== session) return;
  $('serial-screen').hidden = false;
  const box = $('serial-term');
  box.replaceChildren();
  // No useStyle: its inline <style> is refused by the page's CSP; app.css
  // styles .terminal instead.
  term = new window.Terminal({ cols: 80, rows: 24, useStyle: false, screenKeys: false, cursorBlink: false });
  term.open(box);
  term.element.setAttribute('aria-label', 'Serial console');

  // What the console said before we attached: the log's tail.
  try {
    const tail = await api.logs(id, 100);
    if (my !== session) return;
    if (tail) term.write(tail.replace(/\r?\n/g, '\r\n'));
  } catch {
    // The live stream is what matters.
  }
  if (my !== session) return;

  const ws = new WebSocket(api.socketUrl(id, 'serial'));
  ws.binaryType = 'arraybuffer';
  serialWs = ws;
  const decoder = new TextDecoder('utf-8');
  const encoder = new TextEncoder();
  ws.addEventListener('open', () => {
    if (my !== session) return;
    status('Connected to the serial console. Type in the terminal, or send a line below.', 'ok');
    term.element.focus();
    term.focus();
  });
  ws.addEventListener('message', (ev) => {
    if (my !== session || !term) return;
    const text = typeof ev.data === 'string' ? ev.data : decoder.decode(ev.data, { stream: true });
    term.write(text);
  });
  ws.addEventListener('close', (ev) => {
    if (serialWs === ws) serialWs = null;
    if (my === session) closed(ev);
  });
  term.on('data', (data) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(encoder.encode(data));
  });
}

$('serial-line-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const input = $('serial-line');
  if (serialWs && serialWs.readyState === WebSocket.OPEN) {
    serialWs.send(new TextEncoder().encode(`${input.value}\r`));
    input.value = '';
  }
});

// --- the view --------------------------------------------------------------------

function teardown() {
  session++;
  if (rfb) {
    rfb.disconnect();
    rfb = null;
  }
  if (serialWs) {
    serialWs.close(1000, 'console closed by the user');
    serialWs = null;
  }
  if (term) {
    term.blur();
    term.destroy();
    term = null;
  }
  $('vnc-screen').replaceChildren();
  $('vnc-screen').hidden = true;
  $('serial-screen').hidden = true;
  $('vnc-tools').hidden = true;
  $('console-reconnect').hidden = true;
}

async function open() {
  teardown();
  const my = session;
  const { id, kind } = route;
  const ref = encodeURIComponent(id);
  $('tab-vnc').href = `#/vm/${ref}/vnc`;
  $('tab-serial').href = `#/vm/${ref}/serial`;
  for (const [el, k] of [
    [$('tab-vnc'), 'vnc'],
    [$('tab-serial'), 'serial'],
  ]) {
    if (k === kind) el.setAttribute('aria-current', 'page');
    else el.removeAttribute('aria-current');
  }
  $('console-name').textContent = id;
  status('Connecting…', 'busy');
  let vm;
  try {
    vm = await api.vm(id);
  } catch (e) {
    if (my === session) status(e.message, 'bad');
    return;
  }
  if (my !== session) return;
  $('console-name').textContent = vm.name;
  document.title = `${kind === 'vnc' ? 'Screen' : 'Serial console'} · ${vm.name} · startvm manager`;
  if (vm.state !== 'running') {
    status(`${vm.name} is not running (${vm.state}). Start it from the list.`, 'off');
    return;
  }
  if (kind === 'vnc') {
    if (vm.consoles && vm.consoles.vnc === false) {
      status(`${vm.name} has no VNC display (console.vnc is off in its vm.yaml).`, 'off');
      return;
    }
    await openVnc(vm.id, my);
  } else {
    await openSerial(vm.id, my);
  }
}

$('console-reconnect').addEventListener('click', () => open());

export function enter(r) {
  route = r;
  open();
}

export function leave() {
  teardown();
}
