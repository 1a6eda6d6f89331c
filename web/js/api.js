// The manager's HTTP API, as the page uses it: fetch for requests,
// EventSource for /api/events, WebSocket URLs for the consoles.  Every
// error is an ApiError carrying the server's words (Docker's, for what
// Docker refused) and, for a bad create field, the field's name.

export class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.status = status;
    this.field = field || null;
  }
}

// Called with no argument when the server answers 401 to anything but
// the login itself: main.js shows the login form.
let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

async function request(method, path, body) {
  const init = { method, headers: {}, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  // A GET is tried again after a network error: Chromium cancels requests
  // in flight when the host's interfaces change (net::ERR_NETWORK_CHANGED),
  // which a VM starting on the host where the browser runs does.  What
  // changes something is not: the user sees the error and the list.
  for (let attempt = 0; ; attempt++) {
    try {
      res = await fetch(path, init);
      break;
    } catch (e) {
      if (method !== 'GET' || attempt === 2) throw new ApiError(0, `cannot reach the manager: ${e.message}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  if (res.status === 204) return null;
  const type = res.headers.get('Content-Type') || '';
  let data = null;
  if (type.includes('application/json')) {
    try {
      data = await res.json();
    } catch {
      data = null;
    }
  } else if (!res.ok) {
    const text = (await res.text()).trim();
    data = { error: text || res.statusText };
  }
  if (!res.ok) {
    const message = (data && data.error) || `${res.status} ${res.statusText}`;
    if (res.status === 401 && path !== '/api/login') onUnauthorized();
    throw new ApiError(res.status, message, data && data.field);
  }
  return data;
}

const enc = encodeURIComponent;

export const api = {
  session: () => request('GET', '/api/session'),
  login: (password) => request('POST', '/api/login', { password }),
  logout: () => request('POST', '/api/logout'),
  vms: () => request('GET', '/api/vms').then((d) => d.vms || []),
  vm: (id) => request('GET', `/api/vms/${enc(id)}`),
  create: (spec) => request('POST', '/api/vms', spec),
  action: (id, what) => request('POST', `/api/vms/${enc(id)}/${what}`),
  remove: (id, volumes) => request('DELETE', `/api/vms/${enc(id)}?volumes=${volumes ? 'true' : 'false'}`),
  logs: async (id, tail) => {
    const res = await fetch(`/api/vms/${enc(id)}/logs?tail=${tail}`, { credentials: 'same-origin' });
    if (!res.ok) throw new ApiError(res.status, `logs: ${res.status} ${res.statusText}`);
    return res.text();
  },
  images: () => request('GET', '/api/images').then((d) => d.images || []),
  networks: () => request('GET', '/api/networks').then((d) => d.networks || []),
  screenshotUrl: (id) => `/api/vms/${enc(id)}/screenshot.png?t=${Date.now()}`,
  socketUrl: (id, kind) => {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${proto}//${location.host}/api/vms/${enc(id)}/${kind}`;
  },
};

// The live event stream.  handlers: vm(event), docker(event),
// stream(connected: bool).  EventSource reconnects by itself; after each
// (re)connection the caller reloads the list, since events sent while the
// stream was down are lost.  Returns a function that closes the stream.
export function subscribe(handlers) {
  let es = null;
  let closed = false;
  let retry = null;

  const open = () => {
    es = new EventSource('/api/events', { withCredentials: true });
    es.addEventListener('open', () => handlers.stream(true));
    es.addEventListener('vm', (e) => handlers.vm(JSON.parse(e.data)));
    es.addEventListener('docker', (e) => handlers.docker(JSON.parse(e.data)));
    es.addEventListener('error', async () => {
      if (closed) return;
      handlers.stream(false);
      if (es.readyState !== EventSource.CLOSED) return; // reconnecting by itself
      // Closed for good (an HTTP error such as 401): ask why, then retry.
      try {
        await api.session();
      } catch (err) {
        if (err.status === 401) return; // the login form takes over
      }
      retry = setTimeout(() => !closed && open(), 3000);
    });
  };
  open();
  return () => {
    closed = true;
    clearTimeout(retry);
    if (es) es.close();
  };
}
