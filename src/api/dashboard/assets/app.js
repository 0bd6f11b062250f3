// flink-autopilot dashboard: one ES module, no build step, no dependencies.
// Two views: the health board (#/) and a job page (#/jobs/<jobKey>). Data comes from /api/v1
// and is polled every few seconds. Everything is built with DOM calls and textContent, never
// innerHTML, so no report text can inject markup.

const POLL_MS = 5000;
const TOKEN_KEY = 'autopilot.token';
const SVG = 'http://www.w3.org/2000/svg';
const RISK_LABEL = { high: 'High', medium: 'Medium', low: 'Low', unobservable: 'Unobservable' };
const DATA_LABEL = { ok: 'OK', partial: 'Partial', stale: 'Stale' };

const state = { me: null, timer: 0, lastRender: '', riskFilter: '' };

// ── DOM helpers ──────────────────────────────────────────────────────────────────────────────

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

function riskOf(report) {
  return report.risk ?? 'unobservable';
}

function riskBadge(risk) {
  return h('span', { class: `badge risk-${risk}` }, RISK_LABEL[risk] ?? risk);
}

function time(ms) {
  if (ms === null || ms === undefined) return '—';
  const d = new Date(ms);
  return h('time', { datetime: d.toISOString() }, d.toLocaleString());
}

function jobHref(id) {
  return `#/jobs/${encodeURIComponent(id)}`;
}

// ── API ──────────────────────────────────────────────────────────────────────────────────────

class HttpError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
  }
}

async function api(path, init = {}) {
  const token = localStorage.getItem(TOKEN_KEY);
  const headers = {
    accept: 'application/json',
    ...(init.body ? { 'content-type': 'application/json' } : {}),
  };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(path, { ...init, headers });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new HttpError(res.status, body);
  return body;
}

/** Announced to screen readers: decisions and errors, not the routine refresh. */
function setStatus(text) {
  document.getElementById('status').textContent = text;
}

function setUpdated(text) {
  document.getElementById('updated').textContent = text;
}

// ── Charts ───────────────────────────────────────────────────────────────────────────────────

/** Points of a score series as polyline segments; a null score (stale) breaks the line. */
function segments(scores, width, height, pad) {
  const n = scores.length;
  const x = i => pad + (n <= 1 ? (width - 2 * pad) / 2 : (i * (width - 2 * pad)) / (n - 1));
  const y = s => pad + ((100 - s) * (height - 2 * pad)) / 100;
  const out = [];
  let cur = [];
  scores.forEach((s, i) => {
    if (s === null) {
      if (cur.length) out.push(cur);
      cur = [];
    } else cur.push(`${x(i).toFixed(1)},${y(s).toFixed(1)}`);
  });
  if (cur.length) out.push(cur);
  return { out, y };
}

function describeTrend(scores) {
  const known = scores.filter(s => s !== null);
  if (known.length === 0) return 'no score history';
  return `score trend over ${scores.length} points: from ${known[0]} to ${known[known.length - 1]}, lowest ${Math.min(...known)}`;
}

function sparkline(scores) {
  const el = svg('svg', { class: 'spark', viewBox: '0 0 100 24', width: 100, height: 24, role: 'img' });
  el.setAttribute('aria-label', describeTrend(scores));
  const { out } = segments(scores, 100, 24, 2);
  for (const pts of out) {
    el.append(
      pts.length === 1
        ? svg('circle', { cx: pts[0].split(',')[0], cy: pts[0].split(',')[1], r: 1.5 })
        : svg('polyline', { points: pts.join(' ') }),
    );
  }
  return el;
}

function scoreChart(history) {
  const W = 640;
  const H = 200;
  const P = 24;
  const scores = history.map(p => p.score);
  const el = svg('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img' });
  el.setAttribute('aria-label', describeTrend(scores));
  const { out, y } = segments(scores, W, H, P);
  for (const [v, cls] of [
    [100, 'grid'],
    [80, 'grid threshold'],
    [60, 'grid threshold'],
    [0, 'grid'],
  ]) {
    el.append(svg('line', { x1: P, x2: W - P, y1: y(v), y2: y(v), class: cls }));
    const label = svg('text', { x: 2, y: y(v) + 4, class: 'axis' });
    label.textContent = String(v);
    el.append(label);
  }
  for (const pts of out) {
    if (pts.length > 1) el.append(svg('polyline', { points: pts.join(' '), class: 'line' }));
    else {
      const [cx, cy] = pts[0].split(',');
      el.append(svg('circle', { cx, cy, r: 3, class: 'point' }));
    }
  }
  return el;
}

// ── Board ────────────────────────────────────────────────────────────────────────────────────

function summaryCounts(sum) {
  const item = (label, value, cls) =>
    h('div', { class: `count ${cls ?? ''}` }, h('dt', {}, label), h('dd', {}, value));
  return h(
    'dl',
    { class: 'counts', 'aria-label': 'Fleet summary' },
    item('Jobs', sum.jobs),
    item('High risk', sum.byRisk.high, 'risk-high'),
    item('Medium risk', sum.byRisk.medium, 'risk-medium'),
    item('Low risk', sum.byRisk.low, 'risk-low'),
    item('Unobservable', sum.byRisk.unobservable, 'risk-unobservable'),
    item('Paused', sum.pausedJobs),
  );
}

function banners(sum) {
  const out = [];
  if (sum.pauses.fleet) out.push(['warn', 'The whole fleet is paused: no action is executed.']);
  for (const c of sum.pauses.clusters) out.push(['warn', `Cluster ${c} is paused.`]);
  if (sum.frozen)
    out.push(['warn', `Scaling is frozen${sum.frozen.reason ? `: ${sum.frozen.reason}` : ''}.`]);
  if (!sum.pauses.fleet && sum.pausedJobs > 0)
    out.push(['warn', `${sum.pausedJobs} job(s) paused: no action is executed for them.`]);
  if (sum.byRisk.unobservable > 0)
    out.push(['info', `${sum.byRisk.unobservable} job(s) unobservable: data missing or stale, no score.`]);
  for (const f of sum.clusterFindings) out.push(['alert', `${f.title}. ${f.action?.text ?? ''}`]);
  return out.map(([kind, text]) =>
    h('p', { class: `banner banner-${kind}`, role: kind === 'alert' ? 'alert' : null }, text),
  );
}

function riskFilter() {
  const select = h(
    'select',
    {
      id: 'risk-filter',
      onchange: e => {
        state.riskFilter = e.target.value;
        void refresh(true);
      },
    },
    h('option', { value: '' }, 'all'),
    ...Object.entries(RISK_LABEL).map(([v, l]) =>
      h('option', { value: v, selected: state.riskFilter === v }, l),
    ),
  );
  return h('p', { class: 'filters' }, h('label', { for: 'risk-filter' }, 'Risk '), select);
}

function boardRow(job) {
  const risk = riskOf(job);
  return h(
    'tr',
    { 'data-job': job.id, 'data-risk': risk },
    h(
      'th',
      { scope: 'row' },
      h('a', { href: jobHref(job.id) }, job.name),
      h('div', { class: 'sub' }, job.id),
    ),
    h('td', {}, job.cluster, job.namespace ? h('div', { class: 'sub' }, job.namespace) : null),
    h('td', { class: 'num score' }, job.score ?? '—'),
    h('td', {}, riskBadge(risk)),
    h('td', {}, sparkline(job.trend ?? [])),
    h('td', { class: 'first-action' }, job.firstAction ? job.firstAction.text : '—'),
    h(
      'td',
      {},
      h('span', { class: `data data-${job.dataState}` }, DATA_LABEL[job.dataState] ?? job.dataState),
      job.mode === 'paused' ? h('div', { class: 'sub' }, 'paused') : null,
    ),
  );
}

async function renderBoard() {
  const q = new URLSearchParams({ limit: '500', trend: '30' });
  if (state.riskFilter) q.set('risk', state.riskFilter);
  const [sum, jobs] = await Promise.all([api('/api/v1/summary'), api(`/api/v1/jobs?${q}`)]);
  return [
    h('h2', {}, 'Health board'),
    summaryCounts(sum),
    ...banners(sum),
    riskFilter(),
    h(
      'table',
      { class: 'board' },
      h('caption', {}, `Jobs, worst first (${jobs.items.length} of ${jobs.total})`),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Job', 'Cluster', 'Score', 'Risk', 'Trend', 'First action', 'Data'].map(c =>
            h('th', { scope: 'col' }, c),
          ),
        ),
      ),
      h('tbody', {}, jobs.items.map(boardRow)),
    ),
    jobs.nextCursor ? h('p', {}, `Showing the worst ${jobs.items.length}; filter to see others.`) : null,
  ];
}

// ── Job page ─────────────────────────────────────────────────────────────────────────────────

function evidenceList(evidence) {
  const entries = Object.entries(evidence ?? {});
  if (entries.length === 0) return h('span', { class: 'sub' }, 'no evidence');
  return h(
    'dl',
    { class: 'evidence' },
    entries.map(([k, v]) => [
      h('dt', {}, k),
      h('dd', {}, typeof v === 'number' ? String(Math.round(v * 1000) / 1000) : String(v)),
    ]),
  );
}

function findingsTable(findings) {
  const order = { firing: 0, unknown: 1, resolved: 2 };
  const sorted = [...findings].sort((a, b) => order[a.state] - order[b.state]);
  if (sorted.length === 0) return h('p', {}, 'No findings.');
  return h(
    'table',
    { class: 'findings', 'aria-labelledby': 'findings-h' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['Finding', 'Subject', 'Severity', 'State', 'Action', 'Evidence'].map(c =>
          h('th', { scope: 'col' }, c),
        ),
      ),
    ),
    h(
      'tbody',
      {},
      sorted.map(f =>
        h(
          'tr',
          { class: `state-${f.state}` },
          h('th', { scope: 'row' }, f.title, h('div', { class: 'sub' }, `${f.rule} · ${f.category}`)),
          h('td', {}, f.subject.name, h('div', { class: 'sub' }, f.subject.kind)),
          h('td', {}, riskBadge(f.severity)),
          h('td', {}, f.state),
          h('td', {}, f.action.text),
          h('td', {}, evidenceList(f.evidence)),
        ),
      ),
    ),
  );
}

function decide(id, verdict) {
  return async () => {
    let message;
    try {
      await api(`/api/v1/actions/${encodeURIComponent(id)}/${verdict}`, { method: 'POST', body: '{}' });
      message = `Action ${id} ${verdict === 'approve' ? 'approved' : 'rejected'}.`;
    } catch (e) {
      message = `Could not ${verdict} action ${id}: ${e.message}`;
    }
    await refresh(true);
    setStatus(message);
  };
}

function actionsSection(actions) {
  const canDecide = state.me?.writes?.approve && (state.me.role === 'editor' || state.me.role === 'admin');
  if (actions.length === 0) return h('p', {}, 'No planned actions.');
  return h(
    'ul',
    { class: 'actions' },
    actions.map(a =>
      h(
        'li',
        {},
        h('strong', {}, a.kind),
        ' ',
        a.reason,
        ' ',
        h('span', { class: 'sub' }, `(${a.status}, ${a.mode})`),
        a.kind === 'rescale'
          ? h(
              'div',
              { class: 'sub' },
              `target ${Object.entries(a.target)
                .map(([v, p]) => `${v}=${p}`)
                .join(', ')}`,
            )
          : null,
        canDecide && a.status === 'planned'
          ? h(
              'span',
              { class: 'decide' },
              h('button', { type: 'button', class: 'approve', onclick: decide(a.id, 'approve') }, 'Approve'),
              h('button', { type: 'button', class: 'reject', onclick: decide(a.id, 'reject') }, 'Reject'),
            )
          : null,
      ),
    ),
  );
}

function journalTable(journal) {
  if (journal.length === 0) return h('p', {}, 'No journal entries.');
  return h(
    'table',
    { class: 'journal', 'aria-labelledby': 'journal-h' },

    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['When', 'Action', 'Status', 'Detail'].map(c => h('th', { scope: 'col' }, c)),
      ),
    ),
    h(
      'tbody',
      {},
      journal.map(e =>
        h(
          'tr',
          {},
          h('td', {}, time(e.at)),
          h('td', {}, e.actionId),
          h('td', {}, e.status),
          h('td', {}, e.detail ?? ''),
        ),
      ),
    ),
  );
}

async function renderJob(id) {
  const job = await api(`/api/v1/jobs/${encodeURIComponent(id)}`);
  const risk = riskOf(job);
  const notes = [];
  if (job.mode === 'paused') notes.push(['warn', 'This job is paused: nothing is executed for it.']);
  if (job.dataState === 'stale')
    notes.push(['info', 'Unobservable: data is missing or stale, so there is no score.']);
  if (job.dataState === 'partial')
    notes.push(['info', 'Partial data: some sources did not answer in the last cycle.']);
  return [
    h('p', {}, h('a', { href: '#/' }, '← Health board')),
    h('h2', {}, job.name, ' ', riskBadge(risk)),
    ...notes.map(([kind, text]) => h('p', { class: `banner banner-${kind}` }, text)),
    h(
      'dl',
      { class: 'meta' },
      [
        ['Job key', job.id],
        ['Cluster', job.cluster],
        ['Namespace', job.namespace ?? '—'],
        ['Flink job', job.flinkJobId],
        ['State', job.state],
        ['Mode', job.mode],
        ['Score', job.score ?? '—'],
        ['Data', DATA_LABEL[job.dataState] ?? job.dataState],
        ['Observed', time(job.observedAt)],
      ].map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, v))),
    ),
    h(
      'section',
      { 'aria-labelledby': 'first-action' },
      h('h3', { id: 'first-action' }, 'First action'),
      h('p', { class: 'first-action' }, job.firstAction ? job.firstAction.text : 'Nothing to do.'),
    ),
    h(
      'section',
      { 'aria-labelledby': 'score-h' },
      h('h3', { id: 'score-h' }, 'Health score'),
      scoreChart(job.history),
    ),
    h(
      'section',
      { 'aria-labelledby': 'findings-h' },
      h('h3', { id: 'findings-h' }, 'Findings'),
      findingsTable(job.findings),
    ),
    h(
      'section',
      { 'aria-labelledby': 'actions-h' },
      h('h3', { id: 'actions-h' }, 'Planned actions'),
      actionsSection(job.actions),
    ),
    h(
      'section',
      { 'aria-labelledby': 'journal-h' },
      h('h3', { id: 'journal-h' }, 'Journal (newest first)'),
      journalTable(job.journal),
    ),
  ];
}

// ── Shell ────────────────────────────────────────────────────────────────────────────────────

function currentRoute() {
  const m = /^#\/jobs\/(.+)$/.exec(location.hash);
  return m ? { view: 'job', id: decodeURIComponent(m[1]) } : { view: 'board' };
}

async function loadMe() {
  const who = document.getElementById('whoami');
  try {
    state.me = await api('/api/v1/whoami');
    who.textContent = state.me.anonymous
      ? `anonymous (${state.me.role ?? 'no access'})`
      : `${state.me.name} (${state.me.role})`;
  } catch (e) {
    state.me = null;
    who.textContent = e.status === 401 ? 'token required' : '';
  }
}

async function refresh(force = false) {
  const view = document.getElementById('view');
  const route = currentRoute();
  try {
    const nodes = route.view === 'job' ? await renderJob(route.id) : await renderBoard();
    const holder = h('div', {}, nodes);
    // Only touch the page when something changed, so focus and reading position survive a poll.
    const key = `${route.view}|${route.id ?? ''}|${holder.innerHTML}`;
    if (force || key !== state.lastRender) {
      state.lastRender = key;
      view.replaceChildren(...holder.childNodes);
    }
    document.title =
      route.view === 'job' ? `${route.id} · flink-autopilot` : 'Health board · flink-autopilot';
    setUpdated(`Updated ${new Date().toLocaleTimeString()}; refreshes every ${POLL_MS / 1000} s`);
  } catch (e) {
    const text =
      e.status === 401
        ? 'This API needs a token: enter it above.'
        : e.status === 404
          ? 'No such job (it may have been removed).'
          : `Could not load: ${e.message}`;
    // Announced once (role=alert), not again on every failed poll.
    if (state.lastRender !== `error|${text}`) {
      state.lastRender = `error|${text}`;
      view.replaceChildren(h('p', { class: 'banner banner-alert', role: 'alert' }, text));
    }
  }
}

function schedule() {
  clearTimeout(state.timer);
  state.timer = setTimeout(async () => {
    await refresh();
    schedule();
  }, POLL_MS);
}

function setupToken() {
  const form = document.getElementById('token-form');
  const input = document.getElementById('token');
  input.value = localStorage.getItem(TOKEN_KEY) ?? '';
  form.addEventListener('submit', async e => {
    e.preventDefault();
    const v = input.value.trim();
    if (v) localStorage.setItem(TOKEN_KEY, v);
    else localStorage.removeItem(TOKEN_KEY);
    await loadMe();
    await refresh(true);
  });
  document.getElementById('token-clear').addEventListener('click', async () => {
    input.value = '';
    localStorage.removeItem(TOKEN_KEY);
    await loadMe();
    await refresh(true);
  });
}

async function main() {
  setupToken();
  window.addEventListener('hashchange', async () => {
    await refresh(true);
    document.getElementById('view').focus();
  });
  await loadMe();
  await refresh(true);
  document.body.dataset.ready = 'true';
  schedule();
}

void main();
