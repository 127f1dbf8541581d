/* Chatserver agent console.
 *
 * Everything live on this page comes from the agent socket (/ws/agent, authenticated by the
 * session cookie): the server sends whole pictures (`welcome`, `queue`, `team`) and news
 * (`assigned`, `message`, ...); this file keeps them in `state` and redraws from it.
 *
 * Safety rule: text that came from anyone (visitors, agents, names, emails) only ever enters
 * the DOM through textContent / text nodes, never through innerHTML.
 */
(() => {
  'use strict';

  // ---- tuning ---------------------------------------------------------------------------
  const RECONNECT_MIN_MS = 500;
  const RECONNECT_MAX_MS = 10000;
  const PING_EVERY_MS = 25000;      // keeps proxies from idling the socket out...
  const PONG_WAIT_MS = 10000;       // ...and detects a dead one the browser has not noticed
  const TYPING_IDLE_MS = 3000;      // `typing: false` after this long without a keystroke
  const TYPING_REPEAT_MS = 2500;    // while typing, repeat `true` at most this often
  const REMOTE_TYPING_TTL_MS = 20000; // hide a visitor's indicator if its `false` got lost
  const CLOCK_TICK_MS = 15000;      // refresh "waiting 3m" labels
  const BASE_TITLE = document.title;

  const REASONS = {
    closed: 'was closed',
    transferred: 'was transferred',
    requeued: 'went back to the queue',
    gone: 'is no longer assigned to you',
  };
  const ERRORS = {
    forbidden: 'That chat is not assigned to you.',
    conflict: 'Someone else got there first, or that agent cannot take it.',
    too_large: 'The message is too long (4000 characters at most).',
    not_found: 'That chat no longer exists.',
    rate_limited: 'Too many messages; wait a moment.',
    bad_request: 'The server refused that request.',
  };

  // ---- small DOM helpers ----------------------------------------------------------------
  const $ = (selector, root = document) => root.querySelector(selector);

  /** Element with attributes; children may be nodes or strings (strings become text nodes). */
  function h(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value == null || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    node.append(...children.filter((c) => c != null && c !== false));
    return node;
  }

  const ui = {
    connection: $('[data-testid="connection"]'),
    presence: $('[data-testid="presence"]'),
    presenceLabel: $('.presence-label'),
    load: $('[data-testid="load"]'),
    toast: $('[data-testid="toast"]'),
    mine: $('[data-testid="mine-list"]'),
    queue: $('[data-testid="queue-list"]'),
    mineCount: $('[data-count="mine"]'),
    queueCount: $('[data-count="queue"]'),
    mineEmpty: $('[data-empty="mine"]'),
    queueEmpty: $('[data-empty="queue"]'),
    paneEmpty: $('[data-pane="empty"]'),
    pane: $('[data-pane="conversation"]'),
    name: $('.conv-name'),
    details: $('.conv-details'),
    banner: $('[data-banner]'),
    transfer: $('[data-testid="transfer"]'),
    close: $('[data-testid="close-conversation"]'),
    transcript: $('[data-testid="transcript"]'),
    typing: $('[data-testid="typing-indicator"]'),
    composer: $('[data-composer]'),
    reply: $('[data-testid="reply"]'),
    send: $('[data-testid="send"]'),
    note: $('[data-testid="note-toggle"]'),
    back: $('[data-action="back"]'),
  };

  // ---- state ----------------------------------------------------------------------------
  const state = {
    me: {
      id: Number($('#console').dataset.agentId),
      name: $('.me-name').textContent,
      capacity: Number(ui.load.textContent.split('/')[1]) || 3,
      status: ui.presence.dataset.status,
    },
    wantedStatus: null,     // presence chosen here, not yet confirmed by a `team` frame
    convs: new Map(),       // id -> conversation assigned to me (see makeConv)
    ended: null,            // the selected conversation after it left me: kept on screen, read-only
    queue: [],
    team: [],
    selected: null,
    pending: new Map(),     // client_id -> outgoing message not yet acknowledged
    drafts: new Map(),      // conversation id -> {text, note}: unsent reply and its note mode
    live: false,            // a `welcome` arrived on the current socket
  };

  function makeConv(c) {
    const conv = {
      id: c.id,
      visitor: c.visitor || null,
      customerId: c.customer_id ?? null,
      waitingSince: c.waiting_since || null,
      lastSeq: 0,
      visitorReadSeq: c.visitor_read_seq || 0,
      agentReadSeq: c.agent_read_seq || 0,
      sentReadSeq: c.agent_read_seq || 0,
      messages: [],
      keys: new Set(),
      typing: null,          // the visitor's name while they type
      typingTimer: 0,
      syncing: false,
      gone: null,            // why it left me (`unassigned.reason`)
    };
    for (const m of c.messages || []) addMessage(conv, m);
    conv.lastSeq = Math.max(conv.lastSeq, c.last_seq || 0);
    return conv;
  }

  const selectedConv = () => state.convs.get(state.selected) ||
    (state.ended && state.ended.id === state.selected ? state.ended : null);

  const messageKey = (m) => (m.private ? `n${m.note_seq}` : `s${m.seq}`);
  const roleOf = (m) => {
    const role = m.author && m.author.role;
    return role === 'visitor' || role === 'agent' ? role : 'system';
  };

  /** Add a confirmed message in order (public by seq, notes by note_seq); false if known. */
  function addMessage(conv, m) {
    const key = messageKey(m);
    if (conv.keys.has(key)) return false;
    conv.keys.add(key);
    const number = (x) => (m.private ? x.note_seq : x.seq);
    const later = conv.messages.findIndex((x) => !!x.private === !!m.private && number(x) > number(m));
    if (later < 0) conv.messages.push(m); else conv.messages.splice(later, 0, m);
    if (!m.private && m.seq > conv.lastSeq) conv.lastSeq = m.seq;
    if (m.client_id && roleOf(m) === 'agent') state.pending.delete(m.client_id); // it made it
    return true;
  }

  const unreadOf = (conv) => conv.messages.filter(
    (m) => !m.private && roleOf(m) === 'visitor' && m.seq > conv.agentReadSeq).length;

  function visitorName(conv) {
    const v = conv.visitor;
    if (v && v.name) return v.name;
    return `Visitor ${String(v && v.id ? v.id : conv.id).slice(0, 6)}`;
  }

  /** When the visitor's oldest unanswered message was sent, or null if nobody is waiting. */
  function waitingSince(conv) {
    let since = null;
    for (const m of conv.messages) {
      if (m.private) continue;
      const role = roleOf(m);
      if (role === 'visitor') since = since || m.at;
      else if (role === 'agent') since = null;
    }
    return since;
  }

  function lastPublicText(conv) {
    for (let i = conv.messages.length - 1; i >= 0; i--) {
      const m = conv.messages[i];
      if (!m.private && roleOf(m) !== 'system') return m.text;
    }
    return '';
  }

  // ---- time labels ----------------------------------------------------------------------
  function ago(iso) {
    const seconds = (Date.now() - Date.parse(iso)) / 1000;
    if (!Number.isFinite(seconds)) return '';
    if (seconds < 60) return '<1m';
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return `${minutes}m`;
    const hours = Math.floor(minutes / 60);
    if (hours < 24) return `${hours}h ${minutes % 60}m`;
    return `${Math.floor(hours / 24)}d`;
  }

  function clock(iso) {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  // ---- the socket -----------------------------------------------------------------------
  let socket = null;
  let backoff = RECONNECT_MIN_MS;
  let retryTimer = 0;
  let pingTimer = 0;
  let pongTimer = 0;

  function connect() {
    clearTimeout(retryTimer);
    const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    const ws = new WebSocket(`${scheme}${location.host}/ws/agent`);
    socket = ws;
    state.live = false;
    renderConnection('connecting');
    ws.onmessage = (event) => { if (ws === socket) receive(event.data); };
    ws.onclose = () => { if (ws === socket) lost(); };
  }

  /** The socket is gone: try again later, doubling the wait up to RECONNECT_MAX_MS. */
  function lost() {
    const hadWelcome = state.live;
    if (socket) {
      socket.onclose = socket.onmessage = null;
      try { socket.close(); } catch (e) { /* already closed */ }
    }
    socket = null;
    state.live = false;
    clearInterval(pingTimer);
    clearTimeout(pongTimer);
    pongTimer = 0;
    typing.on = false; // the server forgets typing with the connection
    renderConnection('offline');
    if (!hadWelcome) checkSignedIn(); // refused handshakes look like plain closes from here
    retryTimer = setTimeout(connect, backoff);
    backoff = Math.min(backoff * 2, RECONNECT_MAX_MS);
  }

  /** A signed-out agent's socket is refused; send them to the sign-in page instead of retrying. */
  function checkSignedIn() {
    fetch('/console', { redirect: 'manual', credentials: 'same-origin', cache: 'no-store' })
      .then((r) => { if (r.type === 'opaqueredirect') location.assign('/console/login'); })
      .catch(() => { /* server down: keep retrying */ });
  }

  function send(frame) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  function ping() {
    if (!state.live || pongTimer) return;
    send({ type: 'ping' });
    pongTimer = setTimeout(lost, PONG_WAIT_MS);
  }

  function receive(data) {
    let frame;
    try { frame = JSON.parse(data); } catch (e) { return; }
    const handler = frame && Object.prototype.hasOwnProperty.call(FRAMES, frame.type) && FRAMES[frame.type];
    if (handler) handler(frame);
    if (frame && typeof frame === 'object') emit('console:frame', frame); // after our own handling
  }

  // ---- extension point: other scripts on this page (customer.js) follow the console -------
  // `console:frame` (detail: every socket frame, known type or not), `console:selected`
  // (detail: the shown chat {id, customerId, visitor, gone}, or null; sent when it changes);
  // they may send `console:customer` {conversationId, customerId} when a chat got its customer.
  function emit(name, detail) {
    document.dispatchEvent(new CustomEvent(name, { detail }));
  }

  let announcedSelection = '';
  function announceSelection(conv) {
    const detail = conv
      ? { id: conv.id, customerId: conv.customerId, visitor: conv.visitor, gone: conv.gone || null }
      : null;
    const signature = JSON.stringify(detail);
    if (signature === announcedSelection) return;
    announcedSelection = signature;
    emit('console:selected', detail);
  }

  document.addEventListener('console:customer', (event) => {
    const { conversationId, customerId } = event.detail || {};
    const conv = state.convs.get(conversationId) ||
      (state.ended && state.ended.id === conversationId ? state.ended : null);
    if (!conv || customerId == null || conv.customerId === customerId) return;
    conv.customerId = customerId;
    if (conv.id === state.selected) renderPane();
  });

  // ---- server frames: one handler per type ----------------------------------------------
  const FRAMES = {
    welcome(f) {
      state.live = true;
      backoff = RECONNECT_MIN_MS;
      clearInterval(pingTimer);
      pingTimer = setInterval(ping, PING_EVERY_MS);
      Object.assign(state.me, f.agent);
      // The welcome is the whole truth about my chats: rebuild them from it.
      const before = state.convs;
      state.convs = new Map();
      for (const c of f.conversations || []) {
        const conv = makeConv(c);
        conv.typing = before.has(conv.id) ? before.get(conv.id).typing : null;
        state.convs.set(conv.id, conv);
      }
      // The shown chat left me while I was offline: keep it on screen, read-only.
      if (before.has(state.selected) && !state.convs.has(state.selected)) {
        state.ended = Object.assign(before.get(state.selected), { gone: 'gone' });
      } else if (state.convs.has(state.selected)) {
        state.ended = null;
      }
      if (state.wantedStatus && state.wantedStatus !== state.me.status) {
        send({ type: 'presence', status: state.wantedStatus });
        state.me.status = state.wantedStatus;
      }
      resendPending();
      renderConnection('live');
      renderAll();
    },

    queue(f) {
      state.queue = (f.conversations || []).slice().sort((a, b) => a.queue_position - b.queue_position);
      renderQueue();
    },

    team(f) {
      state.team = f.agents || [];
      const mine = state.team.find((a) => a.id === state.me.id);
      if (mine) {
        state.me.capacity = mine.capacity;
        // A team frame built before our presence change reached the server says the old status.
        if (!state.wantedStatus || mine.status === state.wantedStatus) {
          state.wantedStatus = null;
          state.me.status = mine.status;
        }
      }
      renderTopbar();
      renderTransferOptions();
    },

    assigned(f) {
      const conv = makeConv(f.conversation);
      state.convs.set(conv.id, conv);
      if (state.ended && state.ended.id === conv.id) state.ended = null;
      alertAssigned(conv);
      renderAll();
      if (state.selected == null && !narrow()) select(conv.id);
    },

    unassigned(f) {
      const conv = state.convs.get(f.conversation_id);
      if (!conv) return;
      state.convs.delete(conv.id);
      conv.gone = f.reason || 'closed';
      if (typing.conv === conv.id) typing.on = false;
      for (const p of state.pending.values()) {
        if (p.conversation_id === conv.id) p.error = `Not sent: this chat ${REASONS[conv.gone] || REASONS.gone}.`;
      }
      if (state.selected === conv.id) state.ended = conv;
      toast(`The chat with ${visitorName(conv)} ${REASONS[conv.gone] || REASONS.gone}.`);
      renderAll();
    },

    message(f) {
      const conv = state.convs.get(f.conversation_id);
      if (!conv) return;
      const gap = !f.private && f.seq > conv.lastSeq + 1;
      if (!addMessage(conv, f)) return;
      if (gap) requestSync(conv, f.seq);
      if (roleOf(f) === 'visitor') setVisitorTyping(conv, null);
      renderConversation(conv);
    },

    history(f) {
      const conv = state.convs.get(f.conversation_id);
      if (!conv) return;
      conv.syncing = false;
      for (const m of f.messages || []) addMessage(conv, m);
      renderConversation(conv);
    },

    ack(f) {
      const p = state.pending.get(f.client_id);
      if (!p) return;
      state.pending.delete(f.client_id);
      const conv = state.convs.get(f.conversation_id);
      if (conv) {
        addMessage(conv, {
          conversation_id: f.conversation_id, seq: f.seq, note_seq: f.note_seq, private: p.private,
          client_id: p.client_id, author: { role: 'agent', name: state.me.name }, text: p.text, at: p.at,
        });
      }
      renderConversation(conv || { id: f.conversation_id });
    },

    typing(f) {
      const conv = state.convs.get(f.conversation_id);
      if (!conv || f.role !== 'visitor') return;
      setVisitorTyping(conv, f.active ? (f.name || 'The visitor') : null);
    },

    read(f) {
      const conv = state.convs.get(f.conversation_id);
      if (!conv) return;
      if (f.role === 'visitor') conv.visitorReadSeq = Math.max(conv.visitorReadSeq, f.seq);
      else { // read by me, maybe in another tab
        conv.agentReadSeq = Math.max(conv.agentReadSeq, f.seq);
        conv.sentReadSeq = Math.max(conv.sentReadSeq, f.seq);
      }
      renderConversation(conv);
    },

    error(f) {
      const p = f.client_id && state.pending.get(f.client_id);
      const text = ERRORS[f.code] || f.message || 'Something went wrong.';
      if (p) {
        p.error = `Not sent: ${text}`;
        renderConversation({ id: p.conversation_id });
      } else {
        toast(text, 'error');
        ui.close.disabled = false;
        document.querySelectorAll('[data-clicked-at]').forEach((b) => { delete b.dataset.clickedAt; });
        renderQueue();
      }
    },

    pong() {
      clearTimeout(pongTimer);
      pongTimer = 0;
    },

    status() { /* visitor-facing news; `assigned` / `unassigned` tell the console the same */ },
  };

  function requestSync(conv, seenSeq) {
    // A message skipped numbers: ask for what came after the last one we hold in order.
    if (conv.syncing) return;
    let contiguous = 0;
    for (const m of conv.messages) if (!m.private && m.seq === contiguous + 1) contiguous = m.seq;
    if (contiguous + 1 >= seenSeq) return;
    conv.syncing = send({ type: 'sync', conversation_id: conv.id, last_seq: contiguous });
  }

  function setVisitorTyping(conv, name) {
    clearTimeout(conv.typingTimer);
    conv.typing = name;
    if (name) conv.typingTimer = setTimeout(() => setVisitorTyping(conv, null), REMOTE_TYPING_TTL_MS);
    if (conv.id === state.selected) renderTyping(conv);
  }

  // ---- outgoing messages: pending until `ack`, resent with the same client_id ------------
  const uuid = () => (crypto.randomUUID ? crypto.randomUUID()
    : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join(''));

  function sendReply() {
    const conv = selectedConv();
    const text = ui.reply.value.replace(/^\s*\n|\s+$/g, '');
    if (!conv || conv.gone || !text.trim()) return;
    const p = {
      client_id: uuid(), conversation_id: conv.id, text, private: ui.note.checked,
      at: new Date().toISOString(), error: null,
    };
    state.pending.set(p.client_id, p);
    transmit(p);
    ui.reply.value = '';
    saveDraft(conv);
    stopTyping();
    renderTranscript(conv, { toBottom: true });
  }

  const transmit = (p) => send({
    type: 'message', conversation_id: p.conversation_id, client_id: p.client_id, text: p.text, private: p.private,
  });

  /** After a (re)connect: the server deduplicates by client_id, so resending is always safe. */
  function resendPending() {
    for (const p of state.pending.values()) {
      if (p.error) continue;
      if (state.convs.has(p.conversation_id)) transmit(p);
      else p.error = 'Not sent: this chat is no longer assigned to you.';
    }
  }

  function retryPending(clientId) {
    const p = state.pending.get(clientId);
    if (!p) return;
    p.error = null;
    transmit(p);
    renderConversation({ id: p.conversation_id });
  }

  function discardPending(clientId) {
    const p = state.pending.get(clientId);
    state.pending.delete(clientId);
    if (p) renderConversation({ id: p.conversation_id });
  }

  // ---- typing and reading ---------------------------------------------------------------
  const typing = { on: false, conv: null, private: false, lastSent: 0, idleTimer: 0 };

  function onReplyInput() {
    const conv = selectedConv();
    if (!conv) return;
    saveDraft(conv);
    if (conv.gone || !ui.reply.value.trim()) return stopTyping();
    const priv = ui.note.checked;
    if (typing.on && (typing.conv !== conv.id || typing.private !== priv)) stopTyping();
    const now = Date.now();
    if (!typing.on || now - typing.lastSent > TYPING_REPEAT_MS) {
      if (send({ type: 'typing', conversation_id: conv.id, active: true, private: priv })) {
        Object.assign(typing, { on: true, conv: conv.id, private: priv, lastSent: now });
      }
    }
    clearTimeout(typing.idleTimer);
    typing.idleTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  function stopTyping() {
    clearTimeout(typing.idleTimer);
    if (!typing.on) return;
    typing.on = false;
    if (state.convs.has(typing.conv)) {
      send({ type: 'typing', conversation_id: typing.conv, active: false, private: typing.private });
    }
  }

  /** The reply box and the note toggle belong to each conversation. */
  function saveDraft(conv) {
    state.drafts.set(conv.id, { text: ui.reply.value, note: ui.note.checked });
  }

  /** Tell the server (and so the visitor) that the shown conversation has been read. */
  function markRead(conv) {
    if (!conv || conv.gone || document.visibilityState !== 'visible') return;
    if (conv.lastSeq > conv.sentReadSeq && send({ type: 'read', conversation_id: conv.id, seq: conv.lastSeq })) {
      conv.sentReadSeq = conv.lastSeq;
    }
    conv.agentReadSeq = Math.max(conv.agentReadSeq, conv.lastSeq);
  }

  // ---- alerts: sound, desktop notification, title ----------------------------------------
  let audio = null;

  function unlockAudio() { // browsers only start audio after a user gesture
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      if (audio.state === 'suspended') audio.resume();
    } catch (e) { audio = null; }
  }

  function beep() {
    if (!audio || audio.state !== 'running') return;
    const t = audio.currentTime;
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = 'sine';
    osc.frequency.setValueAtTime(880, t);
    osc.frequency.setValueAtTime(1175, t + 0.09);
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.15, t + 0.01);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.22);
    osc.connect(gain).connect(audio.destination);
    osc.start(t);
    osc.stop(t + 0.25);
  }

  function alertAssigned(conv) {
    beep();
    if (!('Notification' in window) || Notification.permission !== 'granted') return;
    const note = new Notification(`New chat: ${visitorName(conv)}`, {
      body: lastPublicText(conv).slice(0, 200), tag: `chatserver-${conv.id}`,
    });
    note.onclick = () => { window.focus(); select(conv.id); note.close(); };
  }

  function askNotificationPermission() {
    if ('Notification' in window && Notification.permission === 'default') {
      Notification.requestPermission().catch(() => { /* dismissed */ });
    }
  }

  let toastTimer = 0;
  function toast(text, kind = 'info') {
    ui.toast.textContent = text;
    ui.toast.dataset.kind = kind;
    ui.toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { ui.toast.hidden = true; }, 6000);
  }

  // ---- rendering ------------------------------------------------------------------------
  const narrow = () => window.matchMedia('(max-width: 760px)').matches;

  function renderAll() {
    renderTopbar();
    renderMine();
    renderQueue();
    renderPane();
  }

  function renderConnection(kind) {
    ui.connection.dataset.state = kind;
    ui.connection.textContent = { live: 'Live', connecting: 'Connecting…', offline: 'Reconnecting…' }[kind];
  }

  function renderTopbar() {
    const available = state.me.status === 'available';
    ui.presence.dataset.status = state.me.status;
    ui.presence.setAttribute('aria-checked', String(available));
    ui.presenceLabel.textContent = available ? 'Available' : 'Away';
    const load = state.convs.size;
    ui.load.textContent = `${load}/${state.me.capacity}`;
    ui.load.classList.toggle('full', load >= state.me.capacity);
  }

  function renderTitle() {
    let unread = 0;
    for (const conv of state.convs.values()) unread += unreadOf(conv);
    document.title = unread ? `(${unread}) ${BASE_TITLE}` : BASE_TITLE;
  }

  /** Put `items` into `list` in order, reusing each key's element so focus and clicks survive. */
  function reconcile(list, items, keyOf, create, update) {
    const existing = new Map([...list.children].map((node) => [node.dataset.key, node]));
    let cursor = list.firstChild;
    for (const item of items) {
      const key = keyOf(item);
      let node = existing.get(key);
      existing.delete(key);
      if (!node) {
        node = create(item);
        node.dataset.key = key;
      }
      update(node, item);
      if (node === cursor) cursor = cursor.nextSibling;
      else list.insertBefore(node, cursor);
    }
    for (const node of existing.values()) node.remove();
  }

  function renderMine() {
    const convs = [...state.convs.values()];
    reconcile(ui.mine, convs, (c) => String(c.id), mineItem, fillMineItem);
    ui.mineCount.textContent = String(convs.length);
    ui.mineEmpty.hidden = convs.length > 0;
    renderTitle();
  }

  function mineItem(conv) {
    const li = h('li', { class: 'conv-item', 'data-testid': 'conversation-item', 'data-conversation-id': conv.id });
    const button = h('button', { type: 'button', class: 'conv-item-main', onclick: () => select(conv.id) },
      h('span', { class: 'conv-item-row' },
        h('span', { class: 'conv-item-name' }), h('span', { class: 'conv-item-wait' })),
      h('span', { class: 'conv-item-row' },
        h('span', { class: 'conv-item-email' }), h('span', { class: 'unread', 'data-testid': 'unread' })),
      h('span', { class: 'conv-item-preview' }));
    li.append(button);
    return li;
  }

  function fillMineItem(li, conv) {
    const selected = conv.id === state.selected;
    li.classList.toggle('selected', selected);
    const button = $('.conv-item-main', li);
    if (selected) button.setAttribute('aria-current', 'true'); else button.removeAttribute('aria-current');
    $('.conv-item-name', li).textContent = visitorName(conv);
    const since = waitingSince(conv);
    const wait = $('.conv-item-wait', li);
    wait.textContent = since ? `waiting ${ago(since)}` : '';
    wait.classList.toggle('long', !!since && Date.now() - Date.parse(since) > 120000);
    fillEmail($('.conv-item-email', li), conv.visitor);
    const typingNow = !!conv.typing;
    const preview = $('.conv-item-preview', li);
    preview.textContent = typingNow ? 'typing…' : lastPublicText(conv);
    preview.classList.toggle('is-typing', typingNow);
    const unread = unreadOf(conv);
    const badge = $('.unread', li);
    badge.textContent = unread ? String(unread) : '';
    badge.hidden = !unread;
    badge.setAttribute('aria-label', `${unread} unread`);
  }

  /** "ada@example.com ✓ verified" / "unverified", or "No email". */
  function fillEmail(node, visitor) {
    node.textContent = '';
    if (!visitor || !visitor.email) {
      node.append(h('span', { class: 'muted', text: 'No email' }));
      return;
    }
    const mark = visitor.verified
      ? h('span', { class: 'mark mark-verified', title: 'Email verified by the website', text: '✓ verified' })
      : h('span', { class: 'mark mark-unverified', title: 'Typed by the visitor; not verified', text: 'unverified' });
    node.append(h('span', { class: 'email', text: visitor.email }), ' ', mark);
  }

  function renderQueue() {
    reconcile(ui.queue, state.queue, (q) => String(q.id), queueItem, fillQueueItem);
    ui.queueCount.textContent = String(state.queue.length);
    ui.queueEmpty.hidden = state.queue.length > 0;
  }

  function queueItem(q) {
    return h('li', { class: 'conv-item queue-item', 'data-testid': 'conversation-item', 'data-conversation-id': q.id },
      h('span', { class: 'queue-position' }),
      h('span', { class: 'queue-who' },
        h('span', { class: 'conv-item-name' }),
        h('span', { class: 'conv-item-email' }),
        h('span', { class: 'conv-item-wait' })),
      h('button', {
        type: 'button', class: 'btn btn-small', 'data-testid': 'claim', text: 'Claim',
        onclick: (e) => claim(e.currentTarget, q.id),
      }));
  }

  function fillQueueItem(li, q) {
    $('.queue-position', li).textContent = `#${q.queue_position}`;
    $('.conv-item-name', li).textContent = visitorName({ id: q.id, visitor: q.visitor });
    fillEmail($('.conv-item-email', li), q.visitor);
    $('.conv-item-wait', li).textContent = q.waiting_since ? `waiting ${ago(q.waiting_since)}` : '';
    const claim = $('[data-testid="claim"]', li);
    claim.setAttribute('aria-label', `Claim the chat with ${visitorName({ id: q.id, visitor: q.visitor })}`);
    // Locked for a moment after a click: the answer is `assigned` (the row goes) or `error`.
    claim.disabled = !state.live || Date.now() - Number(claim.dataset.clickedAt || 0) < 5000;
  }

  /** Redraw what one conversation's news can change. */
  function renderConversation(conv) {
    renderMine();
    renderTopbar();
    if (conv.id === state.selected) renderPane();
  }

  function renderPane() {
    const conv = selectedConv();
    document.body.classList.toggle('show-conversation', !!conv);
    ui.paneEmpty.hidden = !!conv;
    ui.pane.hidden = !conv;
    announceSelection(conv);
    if (!conv) return;
    ui.name.textContent = visitorName(conv);
    renderDetails(conv);
    const gone = !!conv.gone;
    ui.banner.hidden = !gone;
    if (gone) {
      ui.banner.textContent = `This chat ${REASONS[conv.gone] || REASONS.gone}. It is shown read-only.`;
    }
    for (const control of [ui.reply, ui.send, ui.note, ui.transfer, ui.close]) control.disabled = gone;
    ui.composer.classList.toggle('note-mode', ui.note.checked);
    ui.reply.placeholder = ui.note.checked
      ? 'Private note: only agents see this. Enter saves it.'
      : 'Reply to the visitor. Enter sends, Shift+Enter adds a line.';
    renderTransferOptions();
    renderTranscript(conv);
    renderTyping(conv);
    markRead(conv);
    renderMine(); // unread counts may have dropped
  }

  function renderDetails(conv) {
    const email = h('span', { class: 'detail' });
    fillEmail(email, conv.visitor);
    ui.details.replaceChildren(
      email,
      conv.customerId != null ? h('span', { class: 'detail', text: `Customer #${conv.customerId}` }) : '',
      h('span', { class: 'detail', text: `Chat #${conv.id}` }),
      conv.waitingSince ? h('span', { class: 'detail', text: `started ${ago(conv.waitingSince)} ago` }) : '');
  }

  function renderTransferOptions() {
    const conv = selectedConv();
    if (!conv) return;
    const eligible = state.team.filter((a) => a.id !== state.me.id && a.online &&
      a.status === 'available' && a.load < a.capacity);
    // Rebuilding an open <select> closes it: only rebuild when the choices really changed.
    const signature = JSON.stringify(eligible.map((a) => [a.id, a.name, a.load, a.capacity]));
    if (ui.transfer.dataset.signature === signature) return;
    ui.transfer.dataset.signature = signature;
    ui.transfer.textContent = '';
    ui.transfer.append(h('option', { value: '', text: 'Transfer…', selected: true }));
    const group = h('optgroup', { label: 'Available agents' });
    if (eligible.length) {
      for (const a of eligible) group.append(h('option', { value: a.id, text: `${a.name} (${a.load}/${a.capacity})` }));
    } else {
      group.append(h('option', { value: '', disabled: true, text: 'Nobody else is available' }));
    }
    ui.transfer.append(group, h('option', { value: 'queue', text: 'Back to queue' }));
  }

  function renderTyping(conv) {
    ui.typing.textContent = conv.typing ? `${conv.typing} is typing…` : '';
    ui.typing.hidden = !conv.typing;
    const item = ui.mine.querySelector(`[data-conversation-id="${conv.id}"]`);
    if (item) fillMineItem(item, conv);
  }

  // ---- the transcript -------------------------------------------------------------------
  function renderTranscript(conv, { toBottom = false } = {}) {
    const list = ui.transcript;
    const switched = list.dataset.conversationId !== String(conv.id);
    if (switched) { list.textContent = ''; list.dataset.conversationId = String(conv.id); }
    const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 60;
    const seenSeq = lastSeenAgentSeq(conv);
    const items = [
      ...conv.messages.map((m) => ({ m, state: 'sent', seen: !m.private && m.seq === seenSeq })),
      ...[...state.pending.values()].filter((p) => p.conversation_id === conv.id)
        .map((p) => ({ m: { ...p, author: { role: 'agent', name: state.me.name } }, state: p.error ? 'failed' : 'pending', error: p.error })),
    ];
    reconcile(list, items, (it) => (it.m.client_id && roleOf(it.m) === 'agent' ? `c${it.m.client_id}` : messageKey(it.m)),
      () => h('li'), fillMessage);
    if (switched || toBottom || nearBottom) list.scrollTop = list.scrollHeight;
  }

  /** The seq of my last public message the visitor has read, to mark it "Seen". */
  function lastSeenAgentSeq(conv) {
    let seen = 0;
    for (const m of conv.messages) {
      if (!m.private && roleOf(m) === 'agent' && m.seq <= conv.visitorReadSeq) seen = m.seq;
    }
    return seen;
  }

  /** (Re)build one message's element, only when what it shows has changed. */
  function fillMessage(li, it) {
    const { m } = it;
    const signature = `${it.state}|${m.seq}|${m.note_seq}|${it.seen}|${it.error || ''}`;
    if (li.dataset.signature === signature) return;
    li.dataset.signature = signature;
    const role = roleOf(m);
    li.className = `msg msg-${role}${m.private ? ' msg-note' : ''} msg-${it.state}`;
    li.dataset.testid = 'message';
    li.dataset.role = role;
    li.dataset.state = it.state === 'sent' ? 'sent' : 'pending';
    li.dataset.private = String(!!m.private);
    if (m.seq != null) li.dataset.seq = String(m.seq); else delete li.dataset.seq;
    if (m.note_seq != null) li.dataset.noteSeq = String(m.note_seq); else delete li.dataset.noteSeq;
    li.textContent = '';
    if (role === 'system') {
      li.append(h('span', { class: 'msg-text', text: m.text }), h('time', { class: 'msg-time', datetime: m.at, text: clock(m.at) }));
      return;
    }
    const footer = messageFooter(m, it);
    li.append(
      h('div', { class: 'msg-meta' },
        m.private ? h('span', { class: 'msg-tag', text: 'Private note' }) : null,
        h('span', { class: 'msg-author', text: (m.author && m.author.name) || (role === 'visitor' ? 'Visitor' : 'Agent') }),
        h('time', { class: 'msg-time', datetime: m.at, text: clock(m.at) })),
      h('div', { class: 'msg-text', text: m.text }),
      ...(footer ? [footer] : [])); // append(null) would print "null"
  }

  function messageFooter(m, it) {
    if (it.state === 'pending') return h('div', { class: 'msg-status', text: 'Sending…' });
    if (it.state === 'failed') {
      return h('div', { class: 'msg-status msg-status-error', role: 'alert' },
        h('span', { text: it.error }), ' ',
        h('button', { type: 'button', class: 'link', text: 'Retry', onclick: () => retryPending(m.client_id) }), ' ',
        h('button', { type: 'button', class: 'link', text: 'Discard', onclick: () => discardPending(m.client_id) }));
    }
    return it.seen ? h('div', { class: 'msg-status', text: 'Seen' }) : null;
  }

  // ---- user actions ---------------------------------------------------------------------
  function select(id) {
    if (state.selected === id) return;
    stopTyping();
    state.selected = id;
    if (state.ended && state.ended.id !== id) state.ended = null;
    const draft = state.drafts.get(id) || { text: '', note: false };
    ui.reply.value = draft.text;
    ui.note.checked = draft.note;
    ui.close.disabled = false;
    renderMine();
    renderPane();
    if (!narrow()) ui.reply.focus();
  }

  function claim(button, conversationId) {
    if (!send({ type: 'claim', conversation_id: conversationId })) return;
    button.dataset.clickedAt = String(Date.now());
    button.disabled = true;
  }

  function togglePresence() {
    const next = state.me.status === 'available' ? 'away' : 'available';
    state.wantedStatus = next;
    state.me.status = next;
    send({ type: 'presence', status: next }); // offline: sent after the next welcome
    if (next === 'available') askNotificationPermission();
    renderTopbar();
  }

  function transfer() {
    const conv = selectedConv();
    const value = ui.transfer.value;
    ui.transfer.value = '';
    if (!conv || conv.gone || !value) return;
    stopTyping();
    send({ type: 'transfer', conversation_id: conv.id, to_agent_id: value === 'queue' ? null : Number(value) });
  }

  function closeConversation() {
    const conv = selectedConv();
    if (!conv || conv.gone) return;
    stopTyping();
    ui.close.disabled = send({ type: 'close', conversation_id: conv.id }); // re-enabled on error
  }

  ui.presence.addEventListener('click', togglePresence);
  ui.transfer.addEventListener('change', transfer);
  ui.close.addEventListener('click', closeConversation);
  ui.back.addEventListener('click', () => { stopTyping(); state.selected = null; state.ended = null; renderAll(); });
  ui.composer.addEventListener('submit', (e) => { e.preventDefault(); sendReply(); });
  ui.reply.addEventListener('input', onReplyInput);
  ui.reply.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendReply(); }
  });
  ui.note.addEventListener('change', () => {
    stopTyping();
    const conv = selectedConv();
    if (conv) saveDraft(conv);
    renderPane();
    ui.reply.focus();
  });
  for (const kind of ['pointerdown', 'keydown']) document.addEventListener(kind, unlockAudio, { passive: true });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState !== 'visible') return;
    if (!socket) { clearTimeout(retryTimer); connect(); } else ping();
    renderPane();
  });
  window.addEventListener('online', () => { if (!socket) { backoff = RECONNECT_MIN_MS; connect(); } });
  setInterval(() => { renderMine(); renderQueue(); }, CLOCK_TICK_MS);

  renderAll();
  connect();
})();
