// The page's entry: login, the router (location.hash), the event stream
// and the Docker banner.  Routes:
//   #/                 the VM list
//   #/new              the create form
//   #/vm/ID/vnc        the VM's screen (noVNC)
//   #/vm/ID/serial     the VM's serial console (term.js)
import { api, subscribe, setUnauthorizedHandler } from './api.js';
import * as list from './list.js';
import * as create from './create.js';
import * as consoles from './console.js';

const $ = (id) => document.getElementById(id);
const views = ['login', 'list', 'create', 'console'];

let loggedIn = false;
let unsubscribe = null;
let current = null; // the module of the view shown, for leave()

function show(name) {
  for (const v of views) $(`view-${v}`).hidden = v !== name;
  $('nav').hidden = name === 'login';
  for (const a of document.querySelectorAll('#nav [data-route]')) {
    if (a.dataset.route === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function parseRoute() {
  const h = location.hash.replace(/^#/, '') || '/';
  let m;
  if (h === '/' || h === '') return { view: 'list' };
  if (h === '/new') return { view: 'create' };
  if ((m = h.match(/^\/vm\/([^/]+)\/(vnc|serial)$/)))
    return { view: 'console', id: decodeURIComponent(m[1]), kind: m[2] };
  return { view: 'list' };
}

function route() {
  if (!loggedIn) return;
  const r = parseRoute();
  if (current && current.leave) current.leave();
  current = { list, create, console: consoles }[r.view];
  show(r.view);
  current.enter(r);
  document.title = {
    list: 'Virtual machines',
    create: 'New VM',
    console: `${r.kind === 'vnc' ? 'Screen' : 'Serial console'} · ${r.id}`,
  }[r.view] + ' · startvm manager';
}

// --- the Docker / stream banner ----------------------------------------------

const banner = { docker: null, stream: null };
function renderBanner() {
  const b = $('banner');
  if (banner.docker) {
    $('banner-title').textContent = 'Docker is not reachable.';
    const why = /[.!?]$/.test(banner.docker) ? banner.docker : `${banner.docker}.`;
    $('banner-text').textContent = `${why} The manager keeps trying; the list may be out of date.`;
  } else if (banner.stream) {
    $('banner-title').textContent = 'Lost the connection to the manager.';
    $('banner-text').textContent = 'Reconnecting…';
  }
  b.hidden = !banner.docker && !banner.stream;
}

function startEvents() {
  if (unsubscribe) unsubscribe();
  let everConnected = false;
  unsubscribe = subscribe({
    vm: (e) => list.applyEvent(e),
    docker: (e) => {
      banner.docker = e.connected ? null : e.error || 'The Docker socket went away.';
      renderBanner();
      if (e.connected) list.reload();
    },
    stream: (up) => {
      if (up) {
        if (everConnected) list.reload(); // events were missed while down
        everConnected = true;
        banner.stream = null;
      } else if (everConnected) {
        banner.stream = true;
      }
      renderBanner();
    },
  });
}

// --- login --------------------------------------------------------------------

function showLogin() {
  loggedIn = false;
  if (unsubscribe) unsubscribe();
  unsubscribe = null;
  if (current && current.leave) current.leave();
  current = null;
  banner.docker = banner.stream = null;
  renderBanner();
  show('login');
  document.title = 'Log in · startvm manager';
  $('login-password').focus();
}

async function loggedInNow() {
  loggedIn = true;
  $('login-password').value = '';
  $('login-error').textContent = '';
  startEvents();
  await list.reload();
  route();
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const err = $('login-error');
  const button = ev.target.querySelector('button[type=submit]');
  err.textContent = '';
  button.disabled = true;
  try {
    await api.login($('login-password').value);
    await loggedInNow();
  } catch (e) {
    err.textContent = e.message;
    $('login-password').select();
  } finally {
    button.disabled = false;
  }
});

$('logout').addEventListener('click', async () => {
  try {
    await api.logout();
  } catch {
    // The session is gone either way.
  }
  showLogin();
});

setUnauthorizedHandler(() => {
  if (loggedIn) showLogin();
});
window.addEventListener('hashchange', route);

(async () => {
  try {
    await api.session();
  } catch (e) {
    if (e.status === 401) return showLogin();
    show('login');
    $('login-error').textContent = e.message;
    return;
  }
  await loggedInNow();
})();
