/* Chatserver agent console: the left column's other views and the supervisors' alerts.
 *
 * - Tabs: Inbox (Mine and Queue, live: console.js), Open (every open chat; supervisors and
 *   admins), Closed, Follow-ups. Search over transcripts replaces them while it has words.
 *   The lists come from the REST API (GET /api/conversations?view=...&q=..., GET
 *   /api/follow-ups) and are read again when the socket's news may have changed them.
 * - Follow-ups: what I promised to answer by when, soonest first; overdue ones in red until
 *   marked done (POST /api/follow-ups/{id}/done).
 * - Escalations: a supervisor sees each `escalation` frame as an alert with "Open chat".
 * - A visitor left unanswered too long (the `unanswered` frame) is flagged in the lists.
 *
 * It follows the console through the events console.js sends on `document` (`console:frame`,
 * `console:selected`) and asks it to show a chat with `console:open` {id, highlight} and to
 * beep / notify with `console:alert`. REST calls use the session cookie and the page's CSRF
 * token. Safety rule, as in console.js: data only ever enters the DOM as text.
 */
(() => {
  'use strict';

  const LIST_REFRESH_MS = 15000;    // the shown list (and supervisors' Open count) is read again this often
  const FOLLOW_UPS_REFRESH_MS = 30000;
  const TICK_MS = 5000;             // "due in 3m" / "overdue" labels
  const NEWS_DEBOUNCE_MS = 700;     // socket news -> read the lists again, at most this often
  const SEARCH_DEBOUNCE_MS = 350;
  const SEARCH_LIMIT = 50;

  // ---- small DOM helpers ----------------------------------------------------------------
  const { $, h, api, reconcile, coalesced, flagUnanswered, unanswered, fillEmail, fillMarked } =
    window.ConsoleKit;
  const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];


  const root = $('#console');
  const sidebar = $('.sidebar');
  if (!root || !sidebar) return;
  const ME = Number(root.dataset.agentId);
  const OVERSEER = root.dataset.oversees === 'true'; // the server's word: supervisors and admins

  const ui = {
    search: $('[data-testid="search"]'),
    searchForm: $('[data-search]'),
    searchTitle: $('[data-testid="search-title"]'),
    clearSearch: $('[data-testid="clear-search"]'),
    tabs: $$('.tabs [role="tab"]'),
    panels: Object.fromEntries($$('[data-view-panel]').map((p) => [p.dataset.viewPanel, p])),
    lists: {
      open: $('[data-testid="open-list"]'),
      closed: $('[data-testid="closed-list"]'),
      search: $('[data-testid="search-results"]'),
    },
    counts: Object.fromEntries($$('.views [data-count]').map((c) => [c.dataset.count, c])),
    empties: Object.fromEntries($$('.views [data-empty]').map((e) => [e.dataset.empty, e])),
    tabCounts: Object.fromEntries($$('[data-tab-count]').map((c) => [c.dataset.tabCount, c])),
    followUps: $('[data-testid="followups-list"]'),
    everyone: $('[data-testid="followups-everyone"]'),
    alerts: $('[data-testid="alerts"]'),
  };

  const EMPTY = {
    open: 'No open conversations.',
    closed: 'No closed conversations yet.',
    followups: 'Nothing promised. Set a follow-up from a chat when you need time to answer.',
  };

  const state = {
    view: 'inbox',          // the tab shown
    query: '',              // the search shown (replaces the tab while not empty)
    rows: { open: [], closed: [], search: [] },
    loaded: { open: false, closed: false, search: false },
    errors: { open: null, closed: null, search: null, followups: null },
    followUps: [],
    followUpsLoaded: false,
    everyone: false,        // supervisors: everyone's follow-ups
    busy: new Set(),        // follow-up ids being marked done
    selected: null,         // the chat shown in the pane
    alerts: [],             // escalations not yet opened or dismissed
  };

  // ---- time labels ----------------------------------------------------------------------
  function ago(iso) {
    const seconds = (Date.now() - Date.parse(iso)) / 1000;
    if (!Number.isFinite(seconds)) return '';
    return span(seconds);
  }

  function span(seconds) {
    if (seconds < 60) return '<1m';
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return `${minutes}m`;
    const hours = Math.floor(minutes / 60);
    if (hours < 24) return `${hours}h ${minutes % 60}m`;
    return `${Math.floor(hours / 24)}d ${hours % 24}h`;
  }

  function clock(iso) {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  /** "14:05" today, "Tue 14:05" this week, else "25 Nov, 14:05". */
  function when(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return '';
    const now = new Date();
    if (d.toDateString() === now.toDateString()) return clock(iso);
    if (Math.abs(d - now) < 6 * 86400000) return `${d.toLocaleDateString([], { weekday: 'short' })} ${clock(iso)}`;
    const options = { day: 'numeric', month: 'short' };
    if (d.getFullYear() !== now.getFullYear()) options.year = 'numeric';
    return `${d.toLocaleDateString([], options)}, ${clock(iso)}`;
  }

  const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

  function visitorName(row) {
    const v = row.visitor || {};
    if (v.name) return v.name;
    return `Visitor ${String(v.id || row.id || row.conversation_id || '').slice(0, 6)}`;
  }


  // ---- the REST API ---------------------------------------------------------------------


  function debounced(fn, ms) {
    let timer = 0;
    return () => { clearTimeout(timer); timer = setTimeout(fn, ms); };
  }

  const open = (id, highlight = '') => document.dispatchEvent(new CustomEvent('console:open', { detail: { id, highlight } }));
  const alertConsole = (detail) => document.dispatchEvent(new CustomEvent('console:alert', { detail }));

  // ---- loading the lists ----------------------------------------------------------------
  function loader(view) {
    return coalesced(async () => {
      if (view === 'open' && !OVERSEER) return;
      const answer = await api('GET', `/api/conversations?view=${view}&limit=200`);
      if (answer.ok) {
        state.rows[view] = answer.data.conversations || [];
        state.errors[view] = null;
      } else {
        state.errors[view] = `Could not load the list: ${answer.message}`;
      }
      state.loaded[view] = true;
      renderList(view);
      renderTabCounts();
    });
  }
  const load = { open: loader('open'), closed: loader('closed') };
  const openSoon = debounced(() => load.open(), NEWS_DEBOUNCE_MS);
  const closedSoon = debounced(() => { if (state.view === 'closed' || state.loaded.closed) load.closed(); }, NEWS_DEBOUNCE_MS);

  const loadFollowUps = coalesced(async () => {
    const answer = await api('GET', `/api/follow-ups${state.everyone ? '?all=1' : ''}`);
    if (answer.ok) {
      state.followUps = answer.data.follow_ups || [];
      state.errors.followups = null;
    } else {
      state.errors.followups = `Could not load the follow-ups: ${answer.message}`;
    }
    state.followUpsLoaded = true;
    renderFollowUps();
    renderTabCounts();
    shareFollowUps();
  });

  /** The conversation view shows a chat's open follow-ups too. */
  function shareFollowUps() {
    document.dispatchEvent(new CustomEvent('console:follow-ups', { detail: state.followUps.slice() }));
  }

  let searchRun = 0;
  async function runSearch(text) {
    const query = text.trim();
    if (!query) { clearSearch(); return; }
    const run = ++searchRun;
    state.query = query;
    state.loaded.search = false;
    state.errors.search = null;
    renderViews();
    renderList('search');
    if (!/[\p{L}\p{N}_]/u.test(query)) {
      state.rows.search = [];
      state.errors.search = 'Search for at least one word.';
      state.loaded.search = true;
      renderList('search');
      return;
    }
    const answer = await api('GET', `/api/conversations?view=all&q=${encodeURIComponent(query)}&limit=${SEARCH_LIMIT}`);
    if (run !== searchRun) return; // a newer search is on its way
    state.rows.search = answer.ok ? answer.data.conversations || [] : [];
    state.errors.search = answer.ok ? null : answer.message;
    state.loaded.search = true;
    renderList('search');
  }
  const searchSoon = debounced(() => runSearch(ui.search.value), SEARCH_DEBOUNCE_MS);

  function clearSearch() {
    searchRun += 1;
    state.query = '';
    state.rows.search = [];
    if (ui.search.value) ui.search.value = '';
    renderViews();
  }

  // ---- tabs -------------------------------------------------------------------------------
  function setView(view) {
    if (!ui.panels[view]) return;
    state.view = view;
    if (state.query) clearSearch();
    renderViews();
    if (view === 'open' || view === 'closed') load[view]();
    if (view === 'followups') loadFollowUps();
  }

  function renderViews() {
    const shown = state.query ? 'search' : state.view;
    for (const [name, panel] of Object.entries(ui.panels)) panel.hidden = name !== shown;
    for (const tab of ui.tabs) {
      const on = !state.query && tab.dataset.view === state.view;
      tab.setAttribute('aria-selected', String(on));
      tab.tabIndex = tab.dataset.view === state.view ? 0 : -1;
    }
    if (state.query) ui.searchTitle.textContent = `Results for “${state.query}”`;
  }

  function renderTabCounts() {
    const flagged = state.rows.open.filter((r) => unanswered(r.id, r.unanswered_since)).length;
    setTabCount('open', flagged, true, `${plural(flagged, 'visitor')} waiting unanswered`);
    const overdue = state.followUps.filter(isOverdue).length;
    if (overdue) setTabCount('followups', overdue, true, `${plural(overdue, 'follow-up')} overdue`);
    else setTabCount('followups', state.followUps.length, false, `${plural(state.followUps.length, 'follow-up')} open`);
  }

  function setTabCount(name, n, alarm, label) {
    const badge = ui.tabCounts[name];
    if (!badge) return;
    badge.hidden = !n;
    badge.textContent = n ? String(n) : '';
    badge.classList.toggle('alarm', !!alarm && n > 0);
    badge.setAttribute('aria-label', label);
    badge.title = label;
  }

  // ---- conversation rows (Open, Closed, search results) -------------------------------------

  function renderList(view) {
    const list = ui.lists[view];
    if (!list) return;
    const rows = state.rows[view];
    reconcile(list, rows, (r) => String(r.id), (r) => rowItem(r, view), (li, r) => fillRow(li, r, view));
    if (ui.counts[view]) ui.counts[view].textContent = String(rows.length);
    const empty = ui.empties[view];
    let text = '';
    if (state.errors[view]) text = state.errors[view];
    else if (!state.loaded[view]) text = 'Loading…';
    else if (!rows.length) {
      text = view === 'search'
        ? `No conversation mentions “${state.query}”.${OVERSEER ? '' : ' Only your own conversations are searched.'}`
        : EMPTY[view];
    } else if (view === 'search' && rows.length >= SEARCH_LIMIT) {
      text = `Showing the ${SEARCH_LIMIT} newest matches: add a word to narrow it down.`;
    }
    empty.textContent = text;
    empty.hidden = !text;
    empty.classList.toggle('list-error', !!state.errors[view]);
  }

  function rowItem(row, view) {
    const li = h('li', { class: 'conv-item', 'data-testid': 'conversation-item', 'data-conversation-id': row.id });
    li.append(h('button', {
      type: 'button', class: 'conv-item-main',
      onclick: () => open(row.id, view === 'search' ? state.query : ''),
    },
    h('span', { class: 'conv-item-row' }, h('span', { class: 'conv-item-name' }), h('span', { class: 'conv-item-wait' })),
    h('span', { class: 'conv-item-row' }, h('span', { class: 'conv-item-email' }),
      h('span', { class: 'chips' }, h('span', { class: 'escalated', text: 'Escalated', hidden: true }), h('span', { class: 'status-chip' }))),
    h('span', { class: 'conv-item-meta' }),
    h('span', { class: 'conv-item-escalation', 'data-testid': 'escalation-note', hidden: true }),
    h('span', { class: 'conv-item-preview' }),
    h('span', { class: 'flag', 'data-testid': 'unanswered-flag', role: 'status', hidden: true })));
    return li;
  }

  function fillRow(li, row, view) {
    const selected = row.id === state.selected;
    li.classList.toggle('selected', selected);
    const button = $('.conv-item-main', li);
    if (selected) button.setAttribute('aria-current', 'true'); else button.removeAttribute('aria-current');
    if (view === 'search') li.dataset.highlight = state.query; else delete li.dataset.highlight;
    $('.conv-item-name', li).textContent = visitorName(row);

    const since = row.status !== 'closed' ? row.unanswered_since : null;
    const flagged = unanswered(row.id, since);
    const wait = $('.conv-item-wait', li);
    wait.textContent = row.status === 'closed' ? when(row.closed_at || row.created_at)
      : since ? `waiting ${ago(since)}` : view === 'search' ? when(row.created_at) : '';
    wait.classList.toggle('late', flagged);
    wait.title = row.status === 'closed' ? 'Closed' : since ? 'Waiting for an answer since' : '';
    li.classList.toggle('flagged', flagged);
    const flag = $('.flag', li);
    flag.hidden = !flagged;
    flag.textContent = flagged ? `Waiting ${ago(since)} — unanswered` : '';

    fillEmail($('.conv-item-email', li), row.visitor);
    const chip = $('.status-chip', li);
    chip.className = `status-chip status-${row.status}`;
    chip.textContent = { active: 'Open', queued: 'Queued', closed: 'Closed' }[row.status] || row.status;

    const meta = [];
    if (row.status === 'queued') meta.push('In the queue');
    else if (row.agent && row.agent.name) meta.push(row.agent.id === ME ? 'You' : row.agent.name);
    meta.push(`#${row.id}`);
    if (view !== 'search' && row.status !== 'closed') meta.push(`started ${when(row.created_at)}`);
    const metaNode = $('.conv-item-meta', li);
    metaNode.textContent = meta.join(' · ');
    if (row.rating) metaNode.append(' · ', h('span', { class: 'rating', title: 'The visitor\'s rating', text: `★ ${row.rating}` }));
    const escalatedChip = $('.escalated', li);
    escalatedChip.hidden = !row.escalated_at || row.status === 'closed';
    escalatedChip.title = row.escalated_at ? `Escalated ${when(row.escalated_at)}` : '';
    const reason = $('.conv-item-escalation', li); // the agent's words, as text
    reason.hidden = escalatedChip.hidden || !row.escalation_note;
    reason.textContent = reason.hidden ? '' : `Escalated: “${row.escalation_note}”`;
    // a search shows the words that matched, in their context; the other views the last word
    const found = view === 'search' && row.snippet;
    fillMarked($('.conv-item-preview', li), (found ? row.snippet : row.last_message) || '', found ? state.query : '');
  }

  // ---- follow-ups -------------------------------------------------------------------------
  const isOverdue = (f) => !f.done_at && (f.overdue || Date.parse(f.due_at) <= Date.now());

  function renderFollowUps() {
    const items = state.followUps;
    reconcile(ui.followUps, items, (f) => String(f.id), followUpItem, fillFollowUp);
    if (ui.counts.followups) ui.counts.followups.textContent = String(items.length);
    const empty = ui.empties.followups;
    const text = state.errors.followups || (!state.followUpsLoaded ? 'Loading…' : items.length ? '' : EMPTY.followups);
    empty.textContent = text;
    empty.hidden = !text;
    empty.classList.toggle('list-error', !!state.errors.followups);
  }

  function followUpItem(f) {
    return h('li', { class: 'fu-item', 'data-testid': 'follow-up', 'data-follow-up-id': f.id, 'data-conversation-id': f.conversation_id },
      h('button', { type: 'button', class: 'fu-main', onclick: () => open(f.conversation_id) },
        h('span', { class: 'fu-row' }, h('strong', { class: 'fu-due' }), h('span', { class: 'fu-when' })),
        h('span', { class: 'fu-who' }),
        h('span', { class: 'fu-note' })),
      h('button', {
        type: 'button', class: 'btn btn-small fu-done', 'data-testid': 'follow-up-done', text: 'Done',
        onclick: () => markDone(f.id),
      }));
  }

  function fillFollowUp(li, f) {
    const overdue = isOverdue(f);
    li.dataset.overdue = String(overdue);
    li.classList.toggle('overdue', overdue);
    li.classList.toggle('selected', f.conversation_id === state.selected);
    const seconds = (Date.parse(f.due_at) - Date.now()) / 1000;
    $('.fu-due', li).textContent = overdue ? `Overdue ${span(-seconds)}` : `Due in ${span(seconds)}`;
    $('.fu-when', li).textContent = when(f.due_at);
    $('.fu-when', li).title = `Promised for ${new Date(f.due_at).toLocaleString()}`;
    const who = [visitorName({ visitor: f.visitor, conversation_id: f.conversation_id }), `chat #${f.conversation_id}`];
    if (state.everyone && f.agent) who.push(f.agent.id === ME ? 'you' : f.agent.name);
    $('.fu-who', li).textContent = who.join(' · ');
    $('.fu-note', li).textContent = f.note || '';
    const name = visitorName({ visitor: f.visitor, conversation_id: f.conversation_id });
    $('.fu-main', li).setAttribute('aria-label', `${overdue ? 'Overdue' : 'Due'} ${when(f.due_at)}: ${name}. ${f.note || ''}`);
    const done = $('.fu-done', li);
    done.disabled = state.busy.has(f.id);
    done.setAttribute('aria-label', `Mark done: ${name}, ${f.note || ''}`);
  }

  async function markDone(id) {
    if (state.busy.has(id)) return;
    state.busy.add(id);
    renderFollowUps();
    const answer = await api('POST', `/api/follow-ups/${encodeURIComponent(id)}/done`, {});
    state.busy.delete(id);
    if (answer.ok) {
      state.followUps = state.followUps.filter((f) => f.id !== id);
      shareFollowUps();
    } else {
      alertConsole({ text: `Could not mark it done: ${answer.message}`, kind: 'error' });
    }
    renderFollowUps();
    renderTabCounts();
  }

  // ---- escalations: a prominent alert for supervisors ---------------------------------------
  function escalated(f) {
    if (!OVERSEER || !f || f.conversation_id == null || (f.by && f.by.id === ME)) return;
    state.alerts = state.alerts.filter((a) => a.conversationId !== f.conversation_id);
    state.alerts.unshift({
      key: `${f.conversation_id}:${f.at}`, conversationId: f.conversation_id, at: f.at,
      by: (f.by && f.by.name) || 'An agent', note: f.note || '', visitor: f.visitor || null,
    });
    renderAlerts();
    const name = visitorName({ visitor: f.visitor, conversation_id: f.conversation_id });
    alertConsole({
      sound: true, conversationId: f.conversation_id,
      notify: { title: `Escalation: ${(f.by && f.by.name) || 'an agent'} needs a supervisor`, body: f.note || `The chat with ${name}` },
    });
  }

  function dismiss(alert) {
    state.alerts = state.alerts.filter((a) => a !== alert);
    renderAlerts();
  }

  function renderAlerts() {
    ui.alerts.hidden = !state.alerts.length;
    ui.alerts.replaceChildren(...state.alerts.map((a) => {
      const name = visitorName({ visitor: a.visitor, conversation_id: a.conversationId });
      return h('div', { class: 'alert alert-escalation', role: 'alert', 'data-testid': 'escalation-alert', 'data-conversation-id': a.conversationId },
        h('span', { class: 'alert-icon', 'aria-hidden': 'true', text: '!' }),
        h('div', { class: 'alert-body' },
          h('div', { class: 'alert-line' },
            h('strong', { class: 'alert-title', text: `${a.by} asks a supervisor to join` }),
            h('span', { class: 'alert-meta', text: `the chat with ${name} · #${a.conversationId} · ${clock(a.at)}` })),
          a.note ? h('div', { class: 'alert-note', text: `“${a.note}”` }) : null),
        h('div', { class: 'alert-actions' },
          h('button', {
            type: 'button', class: 'btn btn-small btn-primary', 'data-testid': 'open-escalation', text: 'Open chat',
            onclick: () => { dismiss(a); open(a.conversationId); },
          }),
          h('button', {
            type: 'button', class: 'btn btn-small btn-quiet', text: 'Dismiss',
            'aria-label': `Dismiss the alert about chat #${a.conversationId}`, onclick: () => dismiss(a),
          })));
    }));
  }

  // ---- following the console --------------------------------------------------------------
  document.addEventListener('console:selected', (event) => {
    const conv = event.detail || null;
    state.selected = conv ? conv.id : null;
    for (const li of $$('.views [data-key][data-conversation-id]')) {
      if (li.closest('[data-testid="mine-list"], [data-testid="queue-list"]')) continue; // console.js's
      const on = Number(li.dataset.conversationId) === state.selected;
      li.classList.toggle('selected', on);
      const main = $('.conv-item-main', li);
      if (main) { if (on) main.setAttribute('aria-current', 'true'); else main.removeAttribute('aria-current'); }
    }
  });

  document.addEventListener('console:frame', (event) => {
    const f = event.detail || {};
    switch (f.type) {
      case 'welcome':
        if (OVERSEER) openSoon();
        if (state.view === 'closed') closedSoon();
        loadFollowUps();
        break;
      case 'queue': case 'team': case 'assigned':
        if (OVERSEER) openSoon();
        break;
      case 'unassigned':
        if (OVERSEER) openSoon();
        closedSoon();
        break;
      case 'unanswered': {
        const row = f.conversation || {};
        if (row.id != null && row.unanswered_since) flagUnanswered(row.id, row.unanswered_since);
        if (OVERSEER) openSoon();
        renderList('open');
        renderTabCounts();
        break;
      }
      case 'escalation':
        escalated(f);
        if (OVERSEER) openSoon();
        break;
      case 'follow_up':
        loadFollowUps();
        break;
      default:
        break;
    }
  });

  // ---- wiring -----------------------------------------------------------------------------
  for (const tab of ui.tabs) {
    tab.addEventListener('click', () => setView(tab.dataset.view));
    tab.addEventListener('keydown', (e) => { // arrow keys move between tabs
      if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
      e.preventDefault();
      const index = ui.tabs.indexOf(tab) + (e.key === 'ArrowRight' ? 1 : -1);
      const next = ui.tabs[(index + ui.tabs.length) % ui.tabs.length];
      next.focus();
      setView(next.dataset.view);
    });
  }
  ui.searchForm.addEventListener('submit', (e) => { e.preventDefault(); runSearch(ui.search.value); });
  ui.search.addEventListener('input', () => { if (!ui.search.value.trim()) clearSearch(); else searchSoon(); });
  ui.clearSearch.addEventListener('click', () => { clearSearch(); ui.search.focus(); });
  if (ui.everyone) {
    ui.everyone.addEventListener('change', () => {
      state.everyone = ui.everyone.checked;
      state.followUpsLoaded = false;
      renderFollowUps();
      loadFollowUps();
    });
  }

  setInterval(() => { // labels: "due in", "overdue", "waiting"
    renderFollowUps();
    renderList('open');
    renderTabCounts();
  }, TICK_MS);
  setInterval(() => {
    if (document.visibilityState !== 'visible') return;
    if (OVERSEER) load.open();
    if (state.view === 'closed') load.closed();
  }, LIST_REFRESH_MS);
  setInterval(() => { if (document.visibilityState === 'visible') loadFollowUps(); }, FOLLOW_UPS_REFRESH_MS);

  renderViews();
  renderFollowUps();
  for (const view of ['open', 'closed', 'search']) if (ui.lists[view]) renderList(view);
  renderTabCounts();
})();
