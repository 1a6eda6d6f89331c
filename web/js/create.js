// The create form.  The server validates with startvm's own parsers; a
// 400 naming a field puts startvm's message next to that field, and
// nothing has been created.  The page checks only what it must parse
// itself (ports, env lines), so a value it sends is judged by startvm.
import { api } from './api.js';

const $ = (id) => document.getElementById(id);
const form = $('create-form');
const FIELDS = ['image', 'name', 'memory', 'cpus', 'firmware', 'tpm', 'disks', 'network', 'ports', 'no_dhcp', 'user_data', 'env'];
const INPUT = {
  image: 'f-image',
  name: 'f-name',
  memory: 'f-memory',
  cpus: 'f-cpus',
  firmware: 'f-firmware',
  tpm: 'f-tpm',
  disks: 'f-disks',
  network: 'f-network',
  no_dhcp: 'f-dhcp',
  user_data: 'f-user-data',
  env: 'f-env',
};

class FieldError extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

function clearErrors() {
  for (const f of FIELDS) {
    $(`err-${f}`).textContent = '';
    const input = INPUT[f] && $(INPUT[f]);
    if (input) input.removeAttribute('aria-invalid');
  }
  for (const i of form.querySelectorAll('.port-row input')) i.removeAttribute('aria-invalid');
  $('create-error').textContent = '';
}

// "ports[1].host_port" -> "ports"; unknown names go to the form's error.
function showError(field, message) {
  const base = field ? String(field).split(/[[.]/)[0] : null;
  if (base && FIELDS.includes(base)) {
    $(`err-${base}`).textContent = message;
    if (base === 'user_data' || base === 'env') $('more-options').open = true;
    const input = INPUT[base] ? $(INPUT[base]) : form.querySelector('.port-row input');
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    }
  } else {
    $('create-error').textContent = field ? `${field}: ${message}` : message;
  }
}

// --- published ports -------------------------------------------------------------

function addPort() {
  const li = $('port-template').content.firstElementChild.cloneNode(true);
  li.querySelector('.p-remove').addEventListener('click', () => {
    li.remove();
    labelPorts();
  });
  $('port-rows').appendChild(li);
  labelPorts();
  li.querySelector('.p-host').focus();
}

function labelPorts() {
  [...$('port-rows').children].forEach((li, i) => {
    li.querySelector('.p-remove').setAttribute('aria-label', `Remove port ${i + 1}`);
  });
}

function portNumber(text, what, n) {
  const t = text.trim();
  if (!/^\d+$/.test(t) || +t < 1 || +t > 65535)
    throw new FieldError('ports', `port ${n}: ${what} must be a number from 1 to 65535, not "${t}"`);
  return +t;
}

function readPorts() {
  const out = [];
  [...$('port-rows').children].forEach((li, i) => {
    const host = li.querySelector('.p-host').value;
    const cont = li.querySelector('.p-container').value;
    if (!host.trim() && !cont.trim()) return;
    out.push({
      host_port: portNumber(host, 'the host port', i + 1),
      container_port: portNumber(cont, 'the VM port', i + 1),
      protocol: li.querySelector('.p-proto').value,
    });
  });
  return out;
}

function readEnv() {
  const env = {};
  $('f-env')
    .value.split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      const m = line.match(/^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/);
      if (!m) throw new FieldError('env', `line ${i + 1}: expected KEY=value, got "${line.trim()}"`);
      env[m[1]] = m[2];
    });
  return env;
}

// The request body: only what the user filled in.
function readForm() {
  const spec = { image: $('f-image').value };
  for (const [key, id] of [
    ['name', 'f-name'],
    ['memory', 'f-memory'],
    ['cpus', 'f-cpus'],
    ['firmware', 'f-firmware'],
    ['disks', 'f-disks'],
    ['network', 'f-network'],
  ]) {
    const v = $(id).value.trim();
    if (v) spec[key] = v;
  }
  const ud = $('f-user-data').value;
  if (ud.trim()) spec.user_data = ud;
  const ports = readPorts();
  if (ports.length) spec.ports = ports;
  const env = readEnv();
  if (Object.keys(env).length) spec.env = env;
  if (!$('f-dhcp').checked) spec.no_dhcp = true;
  if ($('f-tpm').checked) spec.tpm = true;
  return spec;
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearErrors();
  let spec;
  try {
    spec = readForm();
  } catch (e) {
    return showError(e.field, e.message);
  }
  if (!spec.image) return showError('image', 'Choose an image.');
  const button = $('create-submit');
  button.disabled = true;
  button.textContent = 'Creating…';
  try {
    const vm = await api.create(spec);
    form.reset();
    $('port-rows').replaceChildren();
    // The list shows it now, whether or not its events came yet.
    document.dispatchEvent(new CustomEvent('sv:created', { detail: vm }));
    location.hash = '#/';
  } catch (e) {
    showError(e.field, e.message);
  } finally {
    button.disabled = false;
    button.textContent = 'Create and start';
  }
});

$('add-port').addEventListener('click', addPort);

function option(value, text) {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = text;
  return o;
}

// Docker's list calls can fail for a moment (an image removed while it
// lists them): ask again twice before showing Docker's words.
async function again(fn) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (e.status < 500 || attempt === 2) throw e;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

// Fill the image and network choices each time the form opens (new
// images may have been built since), keeping what the user chose.
async function loadChoices() {
  const img = $('f-image');
  const net = $('f-network');
  const keepImg = img.value;
  const keepNet = net.value;
  try {
    const images = await again(api.images);
    const tags = images.flatMap((i) => (i.tags && i.tags.length ? i.tags : [i.id]));
    if (!tags.length) {
      img.replaceChildren(option('', 'No VM images'));
      $('err-image').textContent =
        'No VM images found: build one on startvm\'s base image (it has the label io.startvm.vm=true).';
    } else {
      img.replaceChildren(...tags.sort().map((t) => option(t, t)));
      if (tags.includes(keepImg)) img.value = keepImg;
      $('err-image').textContent = '';
    }
  } catch (e) {
    if (e.status !== 401) $('err-image').textContent = e.message;
  }
  try {
    const nets = await again(api.networks);
    net.replaceChildren(
      option('', 'Docker\'s default'),
      ...nets
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((n) => option(n.name, n.subnets && n.subnets.length ? `${n.name} (${n.subnets.join(', ')})` : n.name)),
    );
    if (nets.some((n) => n.name === keepNet)) net.value = keepNet;
  } catch (e) {
    if (e.status !== 401) $('err-network').textContent = e.message;
  }
}

export function enter() {
  clearErrors();
  loadChoices();
  $('f-image').focus();
}

export function leave() {}
