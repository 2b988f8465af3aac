// The dashboard page (GET /dashboard): one self-contained script, no framework, no request
// to anything but this runtime. It follows GET /dashboard/events (Server-Sent Events read
// with fetch, so the token travels in the Authorization header and never in a URL), keeps
// the sections it last got, and redraws the ones a frame carries. Uptimes and countdowns
// count forward here between frames. Test hooks: [data-path] rows with data-status,
// [data-countdown], [data-dynamic-summary], #qr-<session> img.
(() => {
  'use strict';

  const TOKEN_KEY = 'wa-dashboard-token';
  const COLLAPSED_KEY = 'wa-dashboard-collapsed';
  const QR_REFRESH_MS = 3000;
  const SEARCH_LIMIT = 50;

  const $ = (id) => document.getElementById(id);

  /** The sections as the stream last gave them. */
  const state = { tree: null, checks: null, sessions: null, batching: null, alerts: null, logs: null };
  let admin = false;
  /** Whether a snapshot has said what the token is worth (admin frames carry logs). */
  let accessKnown = false;
  let token = read(TOKEN_KEY) || '';
  let lastEventId;
  /** Server clock minus this page's clock, ms (the best seen: a late frame only lowers it). */
  let skew = 0;
  let skewKnown = false;
  let retryMs = 1000;
  let stream;
  let reconnectTimer;

  // ---------------------------------------------------------------- small helpers

  function read(key) {
    try {
      return sessionStorage.getItem(key);
    } catch {
      return null;
    }
  }
  function write(key, value) {
    try {
      if (value === null) sessionStorage.removeItem(key);
      else sessionStorage.setItem(key, value);
    } catch {
      // storage disabled: the token lasts as long as the page
    }
  }

  /** h('span', {class: 'x', data: {path: '/'}}, 'text', child) */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [key, value] of Object.entries(attrs)) {
        if (value === undefined || value === null || value === false) continue;
        if (key === 'class') el.className = value;
        else if (key === 'data') for (const [name, v] of Object.entries(value)) el.dataset[name] = String(v);
        else if (key === 'on') for (const [name, fn] of Object.entries(value)) el.addEventListener(name, fn);
        else if (value === true) el.setAttribute(key, '');
        else el.setAttribute(key, String(value));
      }
    }
    for (const child of children) if (child !== undefined && child !== null && child !== false) el.append(child);
    return el;
  }

  const SVG_NS = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs || {})) el.setAttribute(key, String(value));
    return el;
  }

  const GOOD = new Set(['running', 'open', 'ok', 'healthy', 'live']);
  const WARN = new Set(['starting', 'backing_off', 'stopping', 'connecting', 'pairing', 'reconnecting', 'awaiting_pairing', 'degraded', 'warn']);
  const NEUTRAL = new Set(['stopped']);
  /** The colour class of a status; the text is always shown too, with a shape. */
  function tone(status) {
    if (GOOD.has(status)) return 'ok';
    if (WARN.has(status)) return 'warn';
    if (NEUTRAL.has(status)) return 'off';
    return 'bad';
  }
  const SHAPES = { ok: '●', warn: '▲', bad: '✖', off: '○' };
  function badge(status, label) {
    const t = tone(status);
    return h('span', { class: `badge s-${t}` }, h('span', { class: 'shape', 'aria-hidden': 'true' }, SHAPES[t]), ` ${label || status.replace(/_/g, ' ')}`);
  }
  function setBadge(el, status, label) {
    const t = tone(status);
    el.className = `badge s-${t}`;
    el.replaceChildren(h('span', { class: 'shape', 'aria-hidden': 'true' }, SHAPES[t]), ` ${label || status.replace(/_/g, ' ')}`);
  }

  function duration(ms) {
    if (!Number.isFinite(ms)) return '—';
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} m ${String(s % 60).padStart(2, '0')} s`;
    const hr = Math.floor(m / 60);
    if (hr < 24) return `${hr} h ${String(m % 60).padStart(2, '0')} m`;
    return `${Math.floor(hr / 24)} d ${hr % 24} h`;
  }
  function clock(iso) {
    if (!iso) return '—';
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleTimeString();
  }
  function stamp(iso) {
    if (!iso) return '';
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
  }
  const num = (value) => (value === null || value === undefined ? '—' : String(value));
  /** The server's time now, by this page's clock and the skew seen. */
  const serverNow = () => Date.now() + skew;
  const slug = (text) => String(text).replace(/[^A-Za-z0-9_-]/g, '-');
  const authHeaders = () => (token ? { authorization: `Bearer ${token}` } : {});

  function field(label, value, attrs) {
    return h('div', { class: attrs && attrs['data-batching'] === 'pipeline' ? 'field wide' : 'field' }, h('dt', null, label), h('dd', attrs || null, value));
  }

  // ---------------------------------------------------------------- the stream

  function setConn(kind, text) {
    const el = $('conn');
    el.dataset.conn = kind;
    setBadge(el, kind === 'live' ? 'live' : kind === 'unauthorized' || kind === 'refused' ? 'failed' : 'connecting', text);
  }

  function scheduleReconnect(ms) {
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(connect, ms);
  }

  async function connect() {
    clearTimeout(reconnectTimer);
    stream?.abort();
    const controller = new AbortController();
    stream = controller;
    const headers = { accept: 'text/event-stream', ...authHeaders() };
    if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
    let response;
    try {
      response = await fetch('/dashboard/events', { headers, signal: controller.signal, cache: 'no-store' });
    } catch {
      if (controller.signal.aborted) return;
      setConn('reconnecting', 'reconnecting…');
      scheduleReconnect(retryMs);
      return;
    }
    if (!response.ok || !response.body) {
      void response.body?.cancel();
      if (response.status === 401) {
        // Nothing to retry with: the page waits for a token.
        setConn('unauthorized', token ? 'token refused' : 'needs a token');
        accessKnown = true;
        renderAccess();
        return;
      }
      setConn('refused', `refused (${response.status})`);
      scheduleReconnect(response.status === 503 ? 5000 : Math.max(retryMs, 2000));
      return;
    }
    setConn('live', 'live');
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    let frame = { id: undefined, event: '', data: [] };
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let cut;
        while ((cut = buffer.indexOf('\n')) >= 0) {
          let line = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 1);
          if (line.endsWith('\r')) line = line.slice(0, -1);
          if (line === '') {
            dispatch(frame);
            frame = { id: undefined, event: '', data: [] };
            continue;
          }
          if (line.startsWith(':')) continue; // keep-alive
          const colon = line.indexOf(':');
          const name = colon < 0 ? line : line.slice(0, colon);
          let text = colon < 0 ? '' : line.slice(colon + 1);
          if (text.startsWith(' ')) text = text.slice(1);
          if (name === 'data') frame.data.push(text);
          else if (name === 'event') frame.event = text;
          else if (name === 'id') frame.id = text;
          else if (name === 'retry' && /^\d+$/.test(text)) retryMs = Number(text);
        }
      }
    } catch {
      // the connection broke (or was aborted below)
    }
    if (controller.signal.aborted) return;
    setConn('reconnecting', 'reconnecting…');
    scheduleReconnect(retryMs);
  }

  function dispatch(frame) {
    if (frame.id !== undefined) {
      lastEventId = frame.id;
      $('conn').dataset.lastEventId = frame.id;
    }
    if (frame.data.length === 0) return;
    let body;
    try {
      body = JSON.parse(frame.data.join('\n'));
    } catch {
      return;
    }
    if (frame.event === 'snapshot') {
      for (const key of Object.keys(state)) state[key] = null;
      admin = Array.isArray(body.logs);
      accessKnown = true;
      skewKnown = false;
      apply(body, Object.keys(state));
      renderAccess();
    } else if (frame.event === 'delta') {
      apply(body, Object.keys(body));
    }
  }

  function apply(body, names) {
    for (const name of names) if (name in state && name in body) state[name] = body[name];
    if (body.tree && typeof body.tree.at === 'string') {
      const seen = Date.parse(body.tree.at) - Date.now();
      if (!skewKnown || seen > skew) skew = seen;
      skewKnown = true;
    }
    const has = (name) => names.includes(name) && name in body;
    if (has('tree')) renderTree();
    if (has('checks') || has('tree')) renderHealth();
    if (has('sessions')) renderSessions();
    if (has('batching')) renderBatching();
    if (has('alerts')) renderAlerts();
    if (has('logs') || names.length === Object.keys(state).length) renderLogs();
    tick();
  }

  // ---------------------------------------------------------------- access

  function renderAccess() {
    const el = $('access');
    el.dataset.access = admin ? 'admin' : token ? 'read' : 'none';
    el.textContent = admin
      ? 'admin: buttons, QR and logs on'
      : !token
        ? 'read-only'
        : accessKnown
          ? 'not the admin token: read-only'
          : 'checking the token…';
    for (const button of document.querySelectorAll('[data-admin]')) button.hidden = !admin;
    $('logs-section').hidden = !admin;
    renderSessions();
  }

  function setToken(value) {
    token = value;
    write(TOKEN_KEY, value || null);
    admin = false;
    accessKnown = false;
    // A new access level needs a fresh snapshot (logs come only in it): no Last-Event-ID.
    lastEventId = undefined;
    delete $('conn').dataset.lastEventId;
    renderAccess();
    void connect();
  }

  $('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = $('token');
    const value = input.value.trim();
    input.value = '';
    setToken(value);
  });
  $('token-forget').addEventListener('click', () => {
    $('token').value = '';
    setToken('');
  });

  // ---------------------------------------------------------------- operations

  function showResult(text, outcome) {
    const el = $('result');
    el.hidden = false;
    el.dataset.result = outcome;
    el.className = `result r-${outcome}`;
    el.textContent = text;
  }

  function describe(body) {
    if (!body || typeof body !== 'object') return '';
    if (typeof body.problem === 'string') return body.problem;
    if (typeof body.message === 'string') return body.message;
    const { ok: _ok, ...rest } = body;
    const text = JSON.stringify(rest);
    return text.length > 400 ? `${text.slice(0, 400)}…` : text;
  }

  async function operate(label, url, body, button) {
    if (!window.confirm(`${label}?`)) return;
    button.disabled = true;
    showResult(`${label}: working…`, 'pending');
    try {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...authHeaders() }, body: JSON.stringify(body) });
      let answer;
      try {
        answer = await response.json();
      } catch {
        answer = undefined;
      }
      const ok = response.ok && !(answer && answer.ok === false);
      showResult(`${label}: ${ok ? 'done' : 'failed'} (HTTP ${response.status}) ${describe(answer)}`, ok ? 'ok' : 'failed');
    } catch (error) {
      showResult(`${label}: failed: ${error && error.message ? error.message : error}`, 'failed');
    } finally {
      button.disabled = false;
    }
  }

  function adminButton(text, label, onClick) {
    return h('button', { type: 'button', class: 'act', 'data-admin': true, hidden: !admin, 'aria-label': label, on: { click: onClick } }, text);
  }

  // ---------------------------------------------------------------- the tree

  const collapsed = new Set(JSON.parse(read(COLLAPSED_KEY) || '[]'));
  /** path -> the row's element and its parts, kept across frames (focus and search survive). */
  const rows = new Map();

  function nameOf(path) {
    if (path === '/') return '/';
    return path.slice(path.lastIndexOf('/') + 1) || path;
  }

  function makeRow(node) {
    const path = node.path;
    const toggle = h('button', { type: 'button', class: 'toggle', 'aria-expanded': 'true', hidden: true });
    toggle.addEventListener('click', () => {
      if (collapsed.has(path)) collapsed.delete(path);
      else collapsed.add(path);
      write(COLLAPSED_KEY, JSON.stringify([...collapsed]));
      renderTree();
    });
    const status = h('span', { class: 'badge', 'data-status-text': true });
    const restarts = h('b', { 'data-restarts': true });
    const uptime = h('b', { 'data-uptime': true });
    const mailbox = h('b', { 'data-mailbox': true });
    const meta = h(
      'div',
      { class: 'meta' },
      h('span', null, 'restarts ', restarts),
      h('span', null, 'up ', uptime),
      h('span', null, 'mailbox ', mailbox),
    );
    const error = h('p', { class: 'error', hidden: true });
    const outage = h('p', { class: 'outage', hidden: true });
    const restart = path === '/' ? null : adminButton('Restart', `Restart ${path}`, () => operate(`Restart ${path}`, '/admin/restart', { path }, restart));
    const kind = h('span', { class: 'kind muted' });
    const leaf = h('span', { class: 'leaf', 'aria-hidden': 'true' });
    const line = h('div', { class: 'line' }, toggle, leaf, h('span', { class: 'name', title: path }, nameOf(path)), status, kind, restart);
    const el = h('li', { class: 'node', data: { path } }, line, meta, error, outage);
    return { el, toggle, leaf, status, restarts, uptime, mailbox, meta, error, outage, kind, countdown: null, dynamic: null, node };
  }

  function updateRow(row, node, hasChildren, hidden) {
    row.node = node;
    const el = row.el;
    el.dataset.status = node.status;
    el.dataset.kind = node.kind;
    el.style.setProperty('--depth', String(node.depth));
    el.hidden = hidden;
    setBadge(row.status, node.status);
    row.kind.textContent = `${node.kind}${node.placement === 'thread' ? ', thread' : ''}`;
    row.restarts.textContent = String(node.restarts);
    row.mailbox.textContent = String(node.mailboxDepth);
    row.toggle.hidden = !hasChildren;
    row.leaf.hidden = hasChildren;
    if (hasChildren) {
      const open = !collapsed.has(node.path);
      row.toggle.setAttribute('aria-expanded', String(open));
      row.toggle.setAttribute('aria-label', `${open ? 'Collapse' : 'Expand'} ${node.path}`);
      row.toggle.textContent = open ? '▾' : '▸';
    }
    if (node.lastError) {
      row.error.hidden = false;
      row.error.replaceChildren(
        h('span', { class: 'label' }, 'last error '),
        node.lastError.code ? h('code', null, node.lastError.code) : '',
        ` ${node.lastError.message} `,
        h('time', { datetime: node.lastError.at, title: stamp(node.lastError.at), class: 'muted' }, clock(node.lastError.at)),
      );
    } else row.error.hidden = true;
    if (node.outage) {
      row.outage.hidden = false;
      row.outage.textContent = `waiting on ${node.outage.dependency} since ${clock(node.outage.since)}, ${node.outage.retries} retries`;
    } else row.outage.hidden = true;
    const countdown = node.status === 'backing_off' && node.nextRestartAt ? node.nextRestartAt : null;
    if (countdown) {
      if (!row.countdown) {
        row.countdown = h('span', { class: 'countdown', 'aria-live': 'off' });
        row.meta.append(row.countdown);
      }
      row.countdown.dataset.countdown = countdown;
      row.countdown.title = `next restart at ${stamp(countdown)}`;
    } else if (row.countdown) {
      row.countdown.remove();
      row.countdown = null;
    }
    if (node.dynamic) {
      if (!row.dynamic) {
        row.dynamic = makeDynamic(node.path);
        el.append(row.dynamic.el);
      }
      updateDynamic(row.dynamic, node.dynamic);
    } else if (row.dynamic) {
      row.dynamic.el.remove();
      row.dynamic = null;
    }
  }

  function renderTree() {
    const tree = state.tree;
    if (!tree) return;
    const list = $('tree');
    const nodes = tree.nodes || [];
    const parents = new Set();
    const stack = [];
    const ancestry = new Map();
    for (const node of nodes) {
      stack.length = node.depth;
      const chain = stack.filter(Boolean);
      ancestry.set(node.path, chain.slice());
      if (chain.length > 0) parents.add(chain[chain.length - 1]);
      stack[node.depth] = node.path;
    }
    const seen = new Set();
    let at = 0;
    for (const node of nodes) {
      seen.add(node.path);
      let row = rows.get(node.path);
      if (!row) {
        row = makeRow(node);
        rows.set(node.path, row);
      }
      const hidden = ancestry.get(node.path).some((path) => collapsed.has(path));
      updateRow(row, node, parents.has(node.path), hidden);
      row.uptimeMs = node.uptimeMs;
      row.uptimeAt = Date.parse(tree.at);
      // Moved only when out of place: moving a focused element would blur it.
      if (list.children[at] !== row.el) list.insertBefore(row.el, list.children[at] || null);
      at++;
    }
    for (const [path, row] of rows) {
      if (!seen.has(path)) {
        row.el.remove();
        rows.delete(path);
      }
    }
    const overall = $('overall');
    overall.replaceChildren(badge(tree.status), ` score ${tree.score}`);
  }

  // ---------------------------------------------------------------- a dynamic supervisor (the batchers)

  function makeDynamic(path) {
    const id = `dyn-${slug(path)}`;
    const summary = h('span', { class: 'summary', 'data-dynamic-summary': true });
    const input = h('input', { type: 'search', id: `${id}-q`, placeholder: 'phone or conversation', autocomplete: 'off', spellcheck: 'false' });
    const count = h('p', { class: 'muted', 'aria-live': 'polite', 'data-dynamic-count': true });
    const list = h('ul', { class: 'children' });
    const panel = h('div', { class: 'dyn-panel', id: `${id}-panel`, hidden: true }, h('label', { for: `${id}-q` }, 'Search conversations'), input, count, list);
    const toggle = h('button', { type: 'button', class: 'dyn-toggle', 'aria-expanded': 'false', 'aria-controls': `${id}-panel` }, 'Search children');
    const dyn = { el: h('div', { class: 'dyn' }, h('div', { class: 'dyn-line' }, summary, toggle), panel), summary, input, count, list, panel, toggle, path, open: false, timer: undefined, queriedAt: 0, seq: 0 };
    toggle.addEventListener('click', () => {
      dyn.open = !dyn.open;
      panel.hidden = !dyn.open;
      toggle.setAttribute('aria-expanded', String(dyn.open));
      toggle.textContent = dyn.open ? 'Hide search' : 'Search children';
      if (dyn.open) {
        void search(dyn);
        input.focus();
      }
    });
    input.addEventListener('input', () => {
      clearTimeout(dyn.timer);
      dyn.timer = setTimeout(() => void search(dyn), 250);
    });
    return dyn;
  }

  function updateDynamic(dyn, summary) {
    const parts = Object.entries(summary.byStatus || {})
      .filter(([, count]) => count > 0)
      .map(([status, count]) => `${count} ${status.replace(/_/g, ' ')}`);
    dyn.summary.textContent = `${summary.children} children${parts.length ? `: ${parts.join(', ')}` : ''}; ${summary.restarts} restarts`;
    dyn.summary.dataset.children = String(summary.children);
    // An open search follows the tree, at most every 2 s.
    if (dyn.open && Date.now() - dyn.queriedAt > 2000) void search(dyn);
  }

  async function search(dyn) {
    const q = dyn.input.value.trim();
    const seq = ++dyn.seq;
    dyn.queriedAt = Date.now();
    try {
      const response = await fetch(`/dashboard/batchers?q=${encodeURIComponent(q)}&limit=${SEARCH_LIMIT}`, { headers: authHeaders(), cache: 'no-store' });
      if (seq !== dyn.seq) return;
      if (!response.ok) {
        dyn.count.textContent = `search failed (HTTP ${response.status})`;
        return;
      }
      const answer = await response.json();
      if (seq !== dyn.seq) return;
      dyn.count.textContent = `showing ${answer.children.length} of ${answer.matching} matching, ${answer.total} in all`;
      dyn.list.replaceChildren(
        ...answer.children.map((child) =>
          h(
            'li',
            { class: 'child', data: { childPath: child.path, status: child.status } },
            h('span', { class: 'name', title: child.path }, nameOf(child.path)),
            ' ',
            badge(child.status),
            h('span', { class: 'muted' }, ` restarts ${child.restarts}, mailbox ${child.mailboxDepth}`),
            child.lastError ? h('p', { class: 'error' }, child.lastError.code ? h('code', null, child.lastError.code) : '', ` ${child.lastError.message}`) : null,
          ),
        ),
      );
    } catch (error) {
      if (seq === dyn.seq) dyn.count.textContent = `search failed: ${error && error.message ? error.message : error}`;
    }
  }

  // ---------------------------------------------------------------- health

  const checkItems = new Map();

  function renderHealth() {
    const tree = state.tree;
    const score = $('score');
    if (tree) score.replaceChildren(badge(tree.status), ` score ${tree.score}`);
    const checks = state.checks;
    if (!checks) return;
    const list = $('checks');
    const seen = new Set();
    let at = 0;
    for (const check of checks) {
      seen.add(check.name);
      let item = checkItems.get(check.name);
      if (!item) {
        const head = h('summary');
        const body = h('div', { class: 'check-body' });
        const details = h('details', null, head, body);
        item = { el: h('li', { class: 'check', data: { check: check.name } }, details), head, body };
        checkItems.set(check.name, item);
      }
      item.el.dataset.status = check.status;
      const history = check.history || [];
      const counts = {};
      for (const beat of history) counts[beat.status] = (counts[beat.status] || 0) + 1;
      const beats = h(
        'span',
        {
          class: 'beats',
          role: 'img',
          'aria-label': history.length ? `history of ${history.length}: ${Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(', ')}` : 'no history yet',
        },
        ...history.map((beat) => h('i', { class: `beat s-${tone(beat.status)}`, title: `${beat.status} at ${stamp(beat.at)}: ${beat.message}`, data: { beat: beat.status } })),
      );
      item.head.replaceChildren(h('span', { class: 'name' }, check.name), ' ', badge(check.status), ' ', beats, h('span', { class: 'message' }, check.message));
      const transitions = [];
      let previous;
      for (const beat of history) {
        if (beat.status !== previous) transitions.push(beat);
        previous = beat.status;
      }
      item.body.replaceChildren(
        check.since ? h('p', { class: 'muted' }, `${check.status} since ${stamp(check.since)}`) : '',
        transitions.length
          ? h('ol', { class: 'transitions' }, ...transitions.map((beat) => h('li', null, h('time', { datetime: beat.at }, stamp(beat.at)), ' ', badge(beat.status), ` ${beat.message}`)))
          : h('p', { class: 'muted' }, 'no history yet'),
      );
      if (list.children[at] !== item.el) list.insertBefore(item.el, list.children[at] || null);
      at++;
    }
    for (const [name, item] of checkItems) {
      if (!seen.has(name)) {
        item.el.remove();
        checkItems.delete(name);
      }
    }
  }

  // ---------------------------------------------------------------- sessions (and their QR)

  const cards = new Map();
  /** session id -> { timer, url, svg } while its QR is followed. */
  const qrs = new Map();

  function renderSessions() {
    const sessions = state.sessions;
    const box = $('sessions');
    if (!sessions) return;
    if (sessions.length === 0) {
      box.replaceChildren(h('p', { class: 'muted' }, 'no WhatsApp session configured'));
      cards.clear();
      for (const id of [...qrs.keys()]) stopQr(id);
    } else if (cards.size === 0) box.replaceChildren();
    const seen = new Set();
    let at = 0;
    for (const session of sessions) {
      seen.add(session.id);
      let card = cards.get(session.id);
      if (!card) {
        const id = session.id;
        const status = h('span', { class: 'badge' });
        const fields = h('dl', { class: 'fields' });
        const alert = h('p', { class: 'alert', hidden: true });
        const qr = h('div', { class: 'qr', id: `qr-${slug(id)}` });
        const reconnect = adminButton('Reconnect', `Reconnect session ${id}`, () => operate(`Reconnect WhatsApp session ${id}`, '/admin/recover/whatsapp', { target: id }, reconnect));
        const el = h('article', { class: 'card', id: `session-${slug(id)}`, data: { session: id } }, h('h3', null, id, ' ', status), fields, alert, qr, h('div', { class: 'actions' }, reconnect));
        card = { el, status, fields, alert, qr };
        cards.set(id, card);
      }
      card.el.dataset.status = session.status;
      setBadge(card.status, session.status);
      const queue = session.queue || {};
      card.fields.replaceChildren(
        field('last close', session.lastCloseCode === null ? 'none' : `${session.lastCloseCode}${session.lastCloseReason ? ` ${session.lastCloseReason}` : ''}`),
        field('closed at', clock(session.lastCloseAt)),
        session.nextRetryAt ? field('retry in', '', { class: 'countdown', 'data-countdown': session.nextRetryAt }) : '',
        field('queue', `${num(queue.depth)} / ${num(queue.max)}${queue.inFlight ? ', sending' : ''}${queue.failed ? `, ${queue.failed} failed` : ''}`, { 'data-queue': true }),
        field('sent 24 h', num(session.messages_sent_24h)),
        field('received 24 h', num(session.messages_received_24h)),
        field('errors 24 h', num(session.errors_24h)),
        field('last activity', clock(session.last_activity)),
      );
      card.alert.hidden = !session.alert;
      card.alert.textContent = session.alert || '';
      followQr(session, card);
      if (box.children[at] !== card.el) box.insertBefore(card.el, box.children[at] || null);
      at++;
    }
    for (const [id, card] of cards) {
      if (!seen.has(id)) {
        card.el.remove();
        cards.delete(id);
        stopQr(id);
      }
    }
  }

  function followQr(session, card) {
    const pairing = session.status === 'pairing';
    if (!pairing) {
      stopQr(session.id);
      card.qr.replaceChildren();
      return;
    }
    if (!admin) {
      stopQr(session.id);
      card.qr.replaceChildren(h('p', { class: 'muted' }, 'pairing: the QR needs the admin token'));
      return;
    }
    if (qrs.has(session.id)) return;
    const entry = { timer: undefined, url: undefined, svg: undefined };
    qrs.set(session.id, entry);
    const load = async () => {
      try {
        const response = await fetch(`/sessions/${encodeURIComponent(session.id)}/qr?format=svg`, { headers: authHeaders(), cache: 'no-store' });
        if (qrs.get(session.id) !== entry) return;
        if (!response.ok) {
          void response.body?.cancel();
          clearQrImage(entry);
          card.qr.replaceChildren(h('p', { class: 'muted' }, response.status === 404 ? 'no QR on offer right now' : `QR refused (HTTP ${response.status})`));
          return;
        }
        const text = await response.text();
        if (qrs.get(session.id) !== entry || text === entry.svg) return;
        entry.svg = text;
        const previous = entry.url;
        entry.url = URL.createObjectURL(new Blob([text], { type: 'image/svg+xml' }));
        let img = card.qr.querySelector('img');
        if (!img) {
          img = h('img', { alt: `pairing QR for session ${session.id}: scan it in WhatsApp, Linked devices`, width: 240, height: 240 });
          card.qr.replaceChildren(img, h('p', { class: 'muted' }, 'scan in WhatsApp → Linked devices; refreshed as it rotates'));
        }
        img.src = entry.url;
        if (previous) URL.revokeObjectURL(previous);
      } catch {
        // the next refresh tries again
      } finally {
        if (qrs.get(session.id) === entry) entry.timer = setTimeout(load, QR_REFRESH_MS);
      }
    };
    void load();
  }

  function clearQrImage(entry) {
    if (entry.url) URL.revokeObjectURL(entry.url);
    entry.url = undefined;
    entry.svg = undefined;
  }

  function stopQr(id) {
    const entry = qrs.get(id);
    if (!entry) return;
    clearTimeout(entry.timer);
    clearQrImage(entry);
    qrs.delete(id);
  }

  // ---------------------------------------------------------------- batching

  let batchingParts;

  function sparkline(values) {
    const width = 160;
    const height = 32;
    const max = Math.max(1, ...values);
    const latest = values.length ? values[values.length - 1] : 0;
    const label = values.length ? `throughput, last ${values.length} samples: now ${latest}/s, peak ${Math.max(0, ...values)}/s` : 'throughput: no samples yet';
    const chart = svg('svg', { class: 'spark', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': label, preserveAspectRatio: 'none' });
    const title = svg('title');
    title.textContent = label;
    chart.append(title);
    const series = values.length > 1 ? values : [latest, latest];
    const step = width / (series.length - 1);
    const points = series.map((value, i) => `${(i * step).toFixed(1)},${(height - 2 - (value / max) * (height - 4)).toFixed(1)}`).join(' ');
    chart.append(svg('polyline', { points, fill: 'none', stroke: 'currentColor', 'stroke-width': 1.5, 'vector-effect': 'non-scaling-stroke' }));
    return chart;
  }

  function renderBatching() {
    const batching = state.batching;
    if (!batching) return;
    if (!batchingParts) {
      const fields = h('dl', { class: 'fields' });
      const spark = h('div', { class: 'spark-box' });
      const recover = adminButton('Recover batches', 'Recover batches: re-deliver expired in-flight batches and retry dead letters', () =>
        operate('Recover batches (re-deliver expired in-flight batches, retry dead letters)', '/admin/recover/batches', {}, recover),
      );
      $('batching').replaceChildren(fields, spark, h('div', { class: 'actions' }, recover));
      batchingParts = { fields, spark };
    }
    const pipeline = batching.pipeline;
    batchingParts.fields.replaceChildren(
      field('pending conversations', num(batching.pendingConversations), { 'data-batching': 'pendingConversations' }),
      field('in flight', num(batching.inFlightBatches), { 'data-batching': 'inFlightBatches' }),
      field('dead letters', num(batching.deadLetters), { 'data-batching': 'deadLetters' }),
      field('flush lag', batching.flushLagMs === null ? '—' : duration(batching.flushLagMs), { 'data-batching': 'flushLagMs' }),
      field('accepted', num(batching.accepted), { 'data-batching': 'accepted' }),
      field('duplicates', num(batching.duplicates), { 'data-batching': 'duplicates' }),
      pipeline ? field('pipeline', `${pipeline.queued} queued, ${pipeline.running} running, ${pipeline.waitingRetry} retrying, ${pipeline.delivered} delivered`, { 'data-batching': 'pipeline' }) : '',
    );
    const values = batching.throughput || [];
    batchingParts.spark.replaceChildren(h('span', { class: 'label' }, 'accepted per second '), sparkline(values), h('span', { class: 'muted' }, ` now ${values.length ? values[values.length - 1] : 0}/s`));
  }

  // ---------------------------------------------------------------- alerts and logs

  function renderAlerts() {
    const alerts = state.alerts;
    if (!alerts) return;
    const firing = alerts.firing || [];
    $('alerts').replaceChildren(
      firing.length
        ? h(
            'ul',
            { class: 'firing' },
            ...firing.map((group) =>
              h(
                'li',
                { data: { rule: group.rule } },
                badge('critical', `firing ${group.firing}`),
                ' ',
                h('strong', null, group.rule),
                group.groupKey ? h('span', { class: 'muted' }, ` ${group.groupKey}`) : '',
                group.summaries && group.summaries.length ? h('ul', null, ...group.summaries.map((text) => h('li', null, text))) : '',
              ),
            ),
          )
        : h('p', null, badge('ok', 'nothing firing')),
      h('p', { class: 'muted', 'data-silences': alerts.silences }, `${alerts.silences} silence${alerts.silences === 1 ? '' : 's'} active`),
    );
  }

  function renderLogs() {
    const section = $('logs-section');
    section.hidden = !admin;
    if (!admin) return;
    const logs = state.logs || [];
    const list = $('logs');
    if (logs.length === 0) {
      list.replaceChildren(h('li', { class: 'muted' }, 'no warning or error lately'));
      return;
    }
    list.replaceChildren(
      ...logs
        .slice()
        .reverse()
        .map((line) => {
          const fields = line.fields && Object.keys(line.fields).length ? JSON.stringify(line.fields) : '';
          return h(
            'li',
            { class: `log l-${line.level}`, data: { seq: line.seq, level: line.level } },
            h('time', { datetime: line.time || '', title: stamp(line.time) }, clock(line.time)),
            ' ',
            badge(line.level === 'warn' ? 'warn' : 'failed', line.level),
            ' ',
            h('span', { class: 'msg' }, line.msg),
            fields ? h('code', { class: 'log-fields' }, fields.length > 600 ? `${fields.slice(0, 600)}…` : fields) : '',
          );
        }),
    );
  }

  // ---------------------------------------------------------------- the clock: uptimes and countdowns

  function tick() {
    const now = serverNow();
    for (const row of rows.values()) {
      const node = row.node;
      row.uptime.textContent = node.status === 'running' && Number.isFinite(row.uptimeAt) ? duration(row.uptimeMs + (now - row.uptimeAt)) : '—';
    }
    for (const el of document.querySelectorAll('[data-countdown]')) {
      const left = Date.parse(el.dataset.countdown) - now;
      const text = left > 0 ? duration(left + 999) : 'now';
      el.textContent = el.tagName === 'DD' ? text : `restart in ${text}`;
      el.dataset.left = String(Math.max(0, Math.round(left)));
    }
  }

  setInterval(tick, 500);
  renderAccess();
  void connect();
})();
