/* Chatserver console: the agent socket. Every part of the page is rendered by the server;
 * this follows /ws/agent (authenticated by the session cookie) and tells the parts when to
 * read themselves again (htmx `news`), appending new messages to the transcript. Every frame
 * is passed on as `console:frame` (composer.js, customer.js), and `console:selected` says
 * which chat the pane shows. `console:open` {id} opens one in the pane. */
(() => {
  'use strict';

  const RECONNECT_MAX_MS = 10000;
  const PING_EVERY_MS = 25000; // keeps proxies from idling the socket out...
  const PONG_WAIT_MS = 10000; // ...and detects a dead one the browser has not noticed
  const TYPING_TTL_MS = 20000; // hide a visitor's indicator if its `false` got lost
  const SIGNED_OUT = 4001; // the server's close code for a session that ended
  const $ = (selector, root = document) => root.querySelector(selector);
  const root = $('#console');
  const OVERSEER = root.dataset.oversees === 'true';
  const ME = Number(root.dataset.agentId);
  const BASE_TITLE = document.title;
  const pane = $('#pane');
  const emit = (name, detail) => document.dispatchEvent(new CustomEvent(name, { detail }));
  const alert = (detail) => emit('console:alert', detail);
  const part = () => $('.conv-part', pane);
  const shown = () => (part() ? Number(part().dataset.conversationId) : null);
  const news = (selector) => document.querySelectorAll(selector).forEach((n) => htmx.trigger(n, 'news'));
  const quiet = () => { /* replaced by a newer one, or offline: nothing to tell */ };
  const open = (id) => htmx.ajax('GET', `/console/parts/conversation/${Number(id)}`,
    { source: '#pane-sync', target: '#pane' }).catch(quiet); // as the lists' buttons do (macros.html: opens)
  const reopen = (id) => { if (id != null && id === shown()) open(id); };
  const detail = (id) => { if (id != null && id === shown()) news('[data-part="details"]'); }; // the header's
  const nameOf = (id) => {
    const item = document.querySelector(`[data-conversation-id="${id}"] .conv-item-name`);
    return item ? item.textContent : `chat #${id}`;
  };

  // ---- the socket -------------------------------------------------------------------------
  let socket = null;
  let backoff = 500;
  let pongTimer = 0;
  let retryTimer = 0;
  let live = false;

  function connect() {
    clearTimeout(retryTimer);
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/agent`);
    socket = ws;
    live = false;
    connection('connecting');
    ws.onmessage = (event) => { if (ws === socket) receive(event.data); };
    ws.onclose = (event) => {
      if (ws !== socket) return;
      if (event.code === SIGNED_OUT) location.assign('/console/login'); else lost();
    };
  }

  /** The socket is gone: try again later, doubling the wait up to RECONNECT_MAX_MS. */
  function lost() {
    if (socket) {
      socket.onclose = socket.onmessage = null;
      try { socket.close(); } catch (e) { /* already closed */ }
    }
    if (!live) { // a refused handshake looks like a plain close: signed out?
      fetch('/console', { redirect: 'manual', cache: 'no-store' })
        .then((r) => { if (r.type === 'opaqueredirect') location.assign('/console/login'); }).catch(() => {});
    }
    socket = null;
    live = false;
    clearTimeout(pongTimer);
    pongTimer = 0;
    connection('offline');
    retryTimer = setTimeout(connect, backoff);
    backoff = Math.min(backoff * 2, RECONNECT_MAX_MS);
  }

  function send(frame) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }
  window.ConsoleSocket = Object.freeze({ send });

  function connection(state) {
    const node = $('[data-testid="connection"]');
    node.dataset.state = state;
    node.textContent = { live: 'Live', connecting: 'Connecting…', offline: 'Reconnecting…' }[state];
  }

  function ping() {
    if (live && !pongTimer && send({ type: 'ping' })) pongTimer = setTimeout(lost, PONG_WAIT_MS);
  }
  setInterval(ping, PING_EVERY_MS);

  function receive(data) {
    let frame;
    try { frame = JSON.parse(data); } catch (e) { return; }
    if (!frame || typeof frame !== 'object') return;
    const handler = Object.prototype.hasOwnProperty.call(FRAMES, frame.type) && FRAMES[frame.type];
    if (handler) handler(frame);
    for (const name of NEWS[frame.type] || []) news(`[data-part="${name}"]`);
    emit('console:frame', frame);
  }

  // ---- which parts each frame may change, and what else it does ----------------------------
  const NEWS = {
    welcome: ['inbox', 'open', 'closed', 'followups'], queue: ['inbox', 'open'], team: ['inbox', 'open', 'transfer'],
    assigned: ['inbox', 'open'], unassigned: ['inbox', 'open', 'closed'], message: ['inbox'], read: ['inbox'],
    unanswered: ['inbox', 'open'], escalation: ['open'], follow_up: ['followups'], customer: ['inbox'],
  };
  const REASONS = { closed: 'was closed', transferred: 'was transferred', requeued: 'went back to the queue' };

  // (An `error` without a client_id answers a typing or read mark, the only other frames this
  // page sends: a chat that just left the agent refuses them, and nobody needs telling.
  // A message's error is composer.js's.)
  const FRAMES = {
    welcome() {
      live = true;
      backoff = 500;
      connection('live');
      reopen(shown()); // it may have changed while we were away
    },
    pong() { clearTimeout(pongTimer); pongTimer = 0; },
    signed_out() { location.assign('/console/login'); },
    assigned(f) {
      const c = f.conversation || {};
      const who = (c.visitor && c.visitor.name) || 'a visitor';
      const last = (c.messages || []).filter((m) => m.author && m.author.role === 'visitor').pop();
      alert({ sound: true, tag: `chatserver-${c.id}`, conversationId: c.id,
        notify: { title: `New chat: ${who}`, body: last ? last.text : '' } });
      if (c.id === shown() || (wanted() == null && !matchMedia('(max-width: 760px)').matches)) open(c.id);
    },
    unassigned(f) {
      alert({ text: `The chat with ${nameOf(f.conversation_id)} ${REASONS[f.reason] || 'is no longer assigned to you'}.` });
      reopen(f.conversation_id);
    },
    message(f) {
      if (f.conversation_id !== shown()) return;
      news('#transcript-items, [data-part="details"]');
      if (f.author && f.author.role === 'visitor') typing(null);
    },
    ack(f) { if (f.conversation_id === shown()) news('#transcript-items'); },
    read(f) { // the visitor read up to f.seq: the "Seen" mark moves
      if (f.role === 'visitor' && f.conversation_id === shown()) reread();
    },
    typing(f) {
      if (f.role === 'visitor' && f.conversation_id === shown()) typing(f.active ? (f.name || 'The visitor') : null);
    },
    unanswered(f) {
      const c = f.conversation || {};
      if ($(`[data-testid="mine-list"] [data-conversation-id="${c.id}"]`)) alert({ text: `${nameOf(c.id)} has waited too long without an answer.`, kind: 'error', sound: true });
      detail(c.id);
    },
    escalation(f) {
      reopen(f.conversation_id);
      if (OVERSEER && !(f.by && f.by.id === ME)) escalated(f);
    },
    follow_up(f) {
      const item = f.follow_up || {};
      if (!item.overdue || item.done_at || !item.agent || item.agent.id !== ME) return;
      alert({ text: `Follow-up overdue: you promised ${nameOf(item.conversation_id)} an answer.`, kind: 'error', sound: true });
    },
    customer(f) { detail(f.conversation_id); },
    team(f) { // another tab of mine switched: the switch follows (not rebuilt under a click)
      const me = (f.agents || []).find((a) => a.id === ME);
      if (me && me.status !== $('[data-testid="presence"]').dataset.status) news('[data-part="presence"]');
    },
  };

  let typingTimer = 0;
  function typing(name) {
    const node = $('[data-testid="typing-indicator"]', pane);
    clearTimeout(typingTimer);
    if (!node) return;
    node.textContent = name ? `${name} is typing…` : '';
    node.hidden = !name;
    if (name) typingTimer = setTimeout(() => typing(null), TYPING_TTL_MS);
  }

  /** The whole transcript again (its marks changed); the newer messages alone come with `news`. */
  function reread() {
    const items = $('#transcript-items');
    htmx.ajax('GET', items.getAttribute('hx-get'), { source: items, target: items, swap: 'innerHTML' }).catch(quiet);
  }

  // ---- escalations: a prominent alert for supervisors -------------------------------------
  const alerts = $('[data-testid="alerts"]');
  function escalated(f) {
    const by = (f.by && f.by.name) || 'An agent';
    const chat = f.visitor && f.visitor.name ? `the chat with ${f.visitor.name}` : 'a visitor\'s chat';
    const card = $('#escalation-alert').content.firstElementChild.cloneNode(true);
    card.dataset.conversationId = f.conversation_id;
    $('.alert-title', card).textContent = `${by} asks a supervisor to join`;
    $('.alert-meta', card).textContent = `${chat} · #${f.conversation_id}`;
    $('.alert-note', card).textContent = f.note ? `“${f.note}”` : '';
    $('[data-dismiss-alert]', card).setAttribute('aria-label', `Dismiss the alert about chat #${f.conversation_id}`);
    alerts.querySelectorAll(`[data-conversation-id="${f.conversation_id}"]`).forEach((old) => old.remove());
    alerts.prepend(card);
    alerts.hidden = false;
    alert({ sound: true, conversationId: f.conversation_id,
      notify: { title: `Escalation: ${by} needs a supervisor`, body: f.note || chat } });
  }
  alerts.addEventListener('click', (e) => {
    const card = e.target.closest('[data-testid="escalation-alert"]');
    if (!card || !e.target.closest('button')) return;
    if (e.target.closest('[data-open-alert]')) open(card.dataset.conversationId);
    card.remove();
    alerts.hidden = !alerts.children.length;
  });

  // ---- the pane and the transcript ----------------------------------------------------------
  document.addEventListener('console:open', (e) => open(e.detail.id));
  document.addEventListener('console:changed', (e) => detail(e.detail.conversationId));
  document.addEventListener('console:sheet-done', () => detail(shown())); // a follow-up shows in the header

  /** The newer messages only: after the last numbers shown. */
  document.body.addEventListener('htmx:configRequest', (e) => {
    if (e.detail.elt.id !== 'transcript-items' || !e.detail.triggeringEvent) return;
    const last = (attr) => [...e.detail.elt.querySelectorAll(`[${attr}]`)].reduce((n, m) => Math.max(n, Number(m.getAttribute(attr))), 0);
    e.detail.parameters.after = last('data-seq');
    e.detail.parameters.after_note = last('data-note-seq');
  });

  let nearBottom = true;
  document.body.addEventListener('htmx:beforeSwap', (e) => {
    // the same colleagues to transfer to: keep the menu (rebuilding an open <select> closes it)
    const menu = e.detail.target.matches('[data-part="transfer"]') && $('form', e.detail.target);
    if (menu && e.detail.serverResponse.includes(`data-targets="${menu.dataset.targets}"`)) e.detail.shouldSwap = false;
    const log = $('.transcript', pane);
    nearBottom = !log || log.scrollHeight - log.scrollTop - log.clientHeight < 60;
  });

  /** The chat last asked of the pane (`data-wanted`, for j / k), and the one it shows marked in
   * every list, with the unread count in the title. */
  const wanted = () => pane.dataset.wanted || null;
  document.body.addEventListener('htmx:beforeRequest', (e) => {
    const asked = e.detail.target === pane && /\/conversation\/(\d+)(\?)?/.exec(e.detail.requestConfig.path);
    if (!asked) return;
    const again = asked[1] === String(shown()) && asked[1] === wanted() && !asked[2] && e.detail.elt.closest('.sidebar');
    if (again && e.detail.requestConfig.verb === 'get') { // shown already: keep it as it is
      e.preventDefault();
      const click = e.detail.requestConfig.triggeringEvent; // by the agent, not by j / k
      if (click && click.isTrusted && $('#reply')) $('#reply').focus();
    } else {
      pane.dataset.wanted = asked[1];
    }
  });
  function markShown() {
    const id = String(shown());
    for (const li of document.querySelectorAll('.sidebar li[data-conversation-id]')) {
      const on = li.dataset.conversationId === id;
      li.classList.toggle('selected', on);
      li.querySelector('[hx-get]').toggleAttribute('aria-current', on);
    }
    const unread = Number(($('[data-unread]') || { dataset: {} }).dataset.unread || 0);
    document.title = unread ? `(${unread}) ${BASE_TITLE}` : BASE_TITLE;
  }

  document.body.addEventListener('htmx:afterSwap', (e) => {
    const target = e.detail.target;
    const log = $('.transcript', pane);
    if (target === pane) {
      const c = part();
      pane.dataset.wanted = c ? c.dataset.conversationId : '';
      document.body.classList.toggle('show-conversation', !!c);
      emit('console:selected', c ? { id: shown(), customerId: c.dataset.customerId ? Number(c.dataset.customerId) : null } : null);
      const mark = log && $('mark', log);
      if (mark) mark.scrollIntoView({ block: 'center' }); else if (log) log.scrollTop = log.scrollHeight;
    } else if (target.id === 'transcript-items' && nearBottom) {
      log.scrollTop = log.scrollHeight;
    }
    markShown();
  });

  // A message that came while the pane was on its way may have missed both, and an act in it
  // (claim, transfer, close) changes the inbox: ask once more (after the settle, when the new
  // transcript's own trigger works).
  document.body.addEventListener('htmx:afterSettle', (e) => {
    if (e.detail.target === pane) news('#transcript-items, [data-part="inbox"]');
  });

  pane.addEventListener('click', (e) => {
    if (e.target.closest('[data-action="back"]')) { // narrow screens: back to the lists
      pane.replaceChildren($('#pane-empty').content.cloneNode(true));
      pane.dataset.wanted = '';
      document.body.classList.remove('show-conversation');
      emit('console:selected', null);
      markShown();
    }
    const toggle = e.target.closest('[data-testid="past-toggle"]');
    if (toggle) {
      const past = $('#past-conversations');
      past.hidden = !past.hidden;
      toggle.setAttribute('aria-expanded', String(!past.hidden));
    }
  });

  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState !== 'visible') return;
    if (!socket) connect(); else ping();
  });
  window.addEventListener('online', () => { if (!socket) { backoff = 500; connect(); } });
  connect();
})();
