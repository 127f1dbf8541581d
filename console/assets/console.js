/* Chatserver agent console: the live chats (Mine, Queue) and the conversation view.
 *
 * Everything live on this page comes from the agent socket (/ws/agent, authenticated by the
 * session cookie): the server sends whole pictures (`welcome`, `queue`, `team`) and news
 * (`assigned`, `message`, ...); this file keeps them in `state` and redraws from it.
 * A chat that is not assigned to me (queued, someone else's, closed, a search result) is read
 * over REST (GET /api/conversations/{id}) and shown read-only; supervisors may add notes to it.
 *
 * Also here: the visitor's details (local time, page, past conversations), the escalation and
 * follow-up sheets (forms the server renders and answers, via htmx), closing with a
 * confirmation, and the keyboard shortcuts (`?` shows them). Elsewhere: canned responses
 * (canned.js), toasts, beeps and notifications (notify.js), the other views of the left
 * column (all open, closed, follow-ups, search) and the supervisors' alerts (inbox.js).
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
  const CLOCK_TICK_MS = 15000;      // refresh "waiting 3m" labels and the visitor's local time
  const VIEW_REFRESH_MS = 5000;     // a chat shown read-only (not mine, still open) is re-read this often
  const CLOSE_SIGNED_OUT = 4001;    // the server's close code for a session that ended
  const READ_DELAY_MS = 300;        // read marks wait this long (see markRead)
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
  const { $, h, api, reconcile, flagUnanswered, unanswered, fillEmail, fillMarked } = window.ConsoleKit;


  const root = $('#console');
  const OVERSEER = root.dataset.oversees === 'true'; // the server's word: supervisors and admins

  const ui = {
    connection: $('[data-testid="connection"]'),
    presence: $('[data-testid="presence"]'),
    presenceLabel: $('.presence-label'),
    load: $('[data-testid="load"]'),
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
    followUp: $('[data-testid="set-follow-up"]'),
    escalate: $('[data-testid="escalate"]'),
    close: $('[data-testid="close-conversation"]'),
    actions: $('.conv-actions'),
    followUpForm: $('[data-sheet="follow-up"]'),
    escalateForm: $('[data-sheet="escalate"]'),
    transcript: $('[data-testid="transcript"]'),
    typing: $('[data-testid="typing-indicator"]'),
    composer: $('[data-composer]'),
    reply: $('[data-testid="reply"]'),
    send: $('[data-testid="send"]'),
    note: $('[data-testid="note-toggle"]'),
    back: $('[data-action="back"]'),
    confirmClose: $('[data-overlay="confirm-close"]'),
    confirmText: $('#confirm-close-text'),
    confirmYes: $('[data-testid="confirm-close-yes"]'),
  };

  // ---- state ----------------------------------------------------------------------------
  const state = {
    me: {
      id: Number(root.dataset.agentId),
      name: $('.me-name').textContent,
      capacity: Number(ui.load.textContent.split('/')[1]) || 3,
      status: ui.presence.dataset.status,
    },
    wantedStatus: null,     // presence chosen here, not yet confirmed by a `team` frame
    convs: new Map(),       // id -> conversation assigned to me (see makeConv)
    // The selected conversation when it is not mine: one that left me (kept on screen), or
    // one read over REST (`gone: 'viewing'`, with `view`). Always read-only for replies.
    ended: null,
    queue: [],
    queueRows: new Map(),   // id -> the REST row of a queued chat (its last message)
    team: [],
    selected: null,
    pending: new Map(),     // client_id -> outgoing message not yet acknowledged
    drafts: new Map(),      // conversation id -> {text, note}: unsent reply and its note mode
    followUps: new Map(),   // conversation id -> its open follow-ups, soonest first (from inbox.js)
    highlight: '',          // words searched for, marked in the shown transcript
    sheet: null,            // 'follow-up' | 'escalate' | null: the form open under the header
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
      closing: false,        // I asked to close it
      readTimer: 0,
      gone: null,            // why it left me (`unassigned.reason`), or 'viewing'
      view: null,            // read over REST: {loading, error, status, agentId, agentName, closedAt}
    };
    for (const m of c.messages || []) addMessage(conv, m);
    conv.lastSeq = Math.max(conv.lastSeq, c.last_seq || 0);
    return conv;
  }

  const convById = (id) => state.convs.get(id) || (state.ended && state.ended.id === id ? state.ended : null);
  const selectedConv = () => convById(state.selected);

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

  /** Whether I may write in this chat: mine, or (supervisors) a note in an open one. */
  function canWrite(conv) {
    if (!conv) return false;
    if (!conv.gone) return true;
    const v = conv.view;
    return conv.gone === 'viewing' && OVERSEER && !!v && !v.loading && !v.error && v.status !== 'closed';
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

  /** "25 Nov, 14:05" (the year too when it is not this year). */
  function dayTime(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return '';
    const options = { day: 'numeric', month: 'short' };
    if (d.getFullYear() !== new Date().getFullYear()) options.year = 'numeric';
    return `${d.toLocaleDateString([], options)}, ${clock(iso)}`;
  }

  /** "14:05" today, else "25 Nov, 14:05". */
  function soon(iso) {
    return new Date(iso).toDateString() === new Date().toDateString() ? clock(iso) : dayTime(iso);
  }

  /** The time now in the visitor's time zone, in the agent's locale: "Thu 22:15". */
  function fillLocalTimes() {
    for (const node of document.querySelectorAll('[data-zone]')) {
      try {
        node.textContent = new Intl.DateTimeFormat([], {
          timeZone: node.dataset.zone, weekday: 'short', hour: '2-digit', minute: '2-digit',
        }).format(new Date());
      } catch (e) {
        node.textContent = 'unknown'; // a zone this browser does not know
      }
    }
  }

  htmx.onLoad(fillLocalTimes); // a strip swapped in shows its visitor's time at once

  /** A datetime-local input's value for a Date, in this browser's time zone. */
  function localInputValue(d) {
    const pad = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  // ---- the REST API ---------------------------------------------------------------------

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
    ws.onclose = (event) => {
      if (ws !== socket) return;
      if (event.code === CLOSE_SIGNED_OUT) location.assign('/console/login'); // do not reconnect
      else lost();
    };
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

  // ---- extension point: other scripts on this page (customer.js, inbox.js) follow the console --
  // Sent on `document`: `console:frame` (detail: every socket frame, known type or not),
  // `console:selected` (detail: the shown chat {id, customerId, visitor, gone}, or null; sent
  // when it changes), `console:alert` (notify.js: a toast, a beep, a notification). Listened
  // to: `console:customer` {conversationId, customerId} when a chat got its customer;
  // `console:open` {id, highlight?} to show any chat (read-only when it is not mine);
  // `console:follow-ups`; `console:sheet-done` (a sheet's form was accepted by the server).
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
    setCustomer(conversationId, customerId);
  });

  document.addEventListener('console:open', (event) => {
    const { id, highlight, focus } = event.detail || {};
    openConversation(id, { highlight: highlight || '', focus: focus !== false });
  });

  document.addEventListener('console:follow-ups', (event) => {
    state.followUps = new Map();
    for (const item of event.detail || []) {
      if (item.done_at) continue;
      if (!state.followUps.has(item.conversation_id)) state.followUps.set(item.conversation_id, []);
      state.followUps.get(item.conversation_id).push(item);
    }
    renderDetails(selectedConv());
  });

  /** The server knows the visitor better now (a verified purchase named them). */
  function setVisitor(conversationId, visitor) {
    const conv = convById(conversationId);
    if (!conv) return;
    conv.visitor = { ...(conv.visitor || {}), ...visitor };
    renderConversation(conv);
  }

  function setCustomer(conversationId, customerId) {
    const conv = convById(conversationId);
    if (!conv || customerId == null || conv.customerId === customerId) return;
    conv.customerId = customerId;
    if (conv.id === state.selected) {
      renderPane();
      loadVisitor(conv.id); // the customer's past conversations count now
    }
  }

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
      } else if (state.convs.has(state.selected) && state.ended) {
        if (state.ended.view) ui.note.checked = false; // was shown read-only: now mine
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
      refreshQueueRows();
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
      if (state.ended && state.ended.id === conv.id) { // claimed while shown: now a live chat
        state.ended = null;
        if (state.selected === conv.id) ui.note.checked = false; // it was notes-only
      }
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
      if (state.selected === conv.id) {
        state.ended = conv;
        closeSheet();
      }
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
      const conv = convById(f.conversation_id);
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
        renderBanner(selectedConv());
      }
    },

    pong() {
      clearTimeout(pongTimer);
      pongTimer = 0;
    },

    status() { /* visitor-facing news; `assigned` / `unassigned` tell the console the same */ },

    /** A visitor has waited too long without an answer (sent once per wait). */
    unanswered(f) {
      const row = f.conversation || {};
      if (row.id == null || !row.unanswered_since) return;
      flagUnanswered(row.id, row.unanswered_since);
      const conv = state.convs.get(row.id);
      if (conv) warn(`${visitorName(conv)} has waited ${ago(row.unanswered_since)} without an answer.`);
      renderMine();
      renderQueue();
      if (state.selected === row.id) renderDetails(selectedConv());
    },

    /** Someone asked a supervisor to join: a chat shown read-only is read again (the asker
     * is told by the sheet's answer; supervisors' alerts are inbox.js's). */
    escalation(f) {
      const conv = state.ended;
      if (conv && conv.view && conv.id === f.conversation_id) loadViewed(conv.id);
    },

    /** A follow-up of mine is overdue (the list is inbox.js's). */
    follow_up(f) {
      const item = f.follow_up || {};
      if (!item.overdue || item.done_at || !item.agent || item.agent.id !== state.me.id) return;
      const who = (item.visitor && item.visitor.name) || `chat #${item.conversation_id}`;
      warn(`Follow-up overdue: you promised ${who} an answer by ${clock(item.due_at)}.`);
    },

    customer(f) {
      if (f.visitor) setVisitor(f.conversation_id, f.visitor);
      setCustomer(f.conversation_id, f.customer_id);
    },

    signed_out() {
      location.assign('/console/login');
    },
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

  /** The queue frame has no messages: read what the waiting visitors wrote (debounced). */
  let queueRowsTimer = 0;
  function refreshQueueRows() {
    clearTimeout(queueRowsTimer);
    queueRowsTimer = setTimeout(async () => {
      if (!state.queue.length) { state.queueRows.clear(); return; }
      const answer = await api('GET', '/api/conversations?view=queued&limit=200');
      if (!answer.ok) return;
      state.queueRows = new Map((answer.data.conversations || []).map((r) => [r.id, r]));
      renderQueue();
    }, 250);
  }

  // ---- chats that are not mine: read over REST, shown read-only --------------------------
  const loading = new Set(); // conversation ids being read

  /** Show any conversation: mine live, anyone else's read-only from GET /api/conversations/{id}. */
  function openConversation(rawId, { highlight = '', focus = true } = {}) {
    const id = Number(rawId);
    if (!Number.isInteger(id) || id < 1) return;
    const changed = state.highlight !== highlight;
    state.highlight = highlight;
    if (state.convs.has(id)) {
      if (state.selected === id) {
        if (changed) rerenderTranscript();
        if (focus && !narrow()) ui.reply.focus();
        return;
      }
      select(id, { focus });
      return;
    }
    if (state.selected === id && state.ended && state.ended.view) {
      if (changed) rerenderTranscript();
      loadViewed(id);
      return;
    }
    leaveSelected();
    state.selected = id;
    const conv = makeConv({ id });
    conv.gone = 'viewing';
    conv.view = { loading: true };
    state.ended = conv;
    const draft = state.drafts.get(id) || { text: '', note: true };
    ui.reply.value = draft.text;
    renderMine();
    renderQueue();
    renderPane();
    loadViewed(id);
    loadVisitor(id);
  }

  async function loadViewed(id) {
    if (loading.has(id)) return;
    loading.add(id);
    const answer = await api('GET', `/api/conversations/${encodeURIComponent(id)}`);
    loading.delete(id);
    const conv = state.ended;
    if (!conv || conv.id !== id || !conv.view || state.convs.has(id)) return; // moved on, or it is mine now
    if (!answer.ok) {
      conv.view = { ...conv.view, loading: false,
        error: answer.status === 404 ? 'That chat does not exist.' : `Could not load this chat: ${answer.message}` };
      renderPane();
      return;
    }
    const c = answer.data.conversation || {};
    conv.visitor = c.visitor || conv.visitor;
    conv.customerId = c.customer_id ?? null;
    conv.waitingSince = c.created_at || conv.waitingSince;
    for (const m of answer.data.messages || []) addMessage(conv, m);
    conv.lastSeq = Math.max(conv.lastSeq, c.last_seq || 0);
    conv.view = {
      loading: false, error: null, status: c.status, agentId: c.agent_id ?? null,
      agentName: (c.agent && c.agent.name) || null, createdAt: c.created_at, closedAt: c.closed_at,
    };
    if (conv.id === state.selected) renderPane();
  }

  /** The visitor strip (local time, page, past conversations), rendered by the server. One
   * request at a time: when it comes back, the chat shown since is asked for if it differs. */
  const visitorStrip = { wanted: null, busy: false };
  function loadVisitor(id) {
    visitorStrip.wanted = String(id);
    if (visitorStrip.busy) return;
    visitorStrip.busy = true;
    const asked = visitorStrip.wanted;
    const url = `/console/parts/conversation/${encodeURIComponent(asked)}/visitor`;
    htmx.ajax('GET', url, { target: '[data-testid="visitor-details"]', swap: 'outerHTML' })
      .catch(() => { /* offline: the next selection asks again */ })
      .finally(() => {
        visitorStrip.busy = false;
        if (visitorStrip.wanted !== asked) loadVisitor(visitorStrip.wanted);
      });
  }

  /** The past conversations unfold from their toggle, and each opens from the list. */
  function onPaneClick(e) {
    const toggle = e.target.closest('[data-testid="past-toggle"]');
    const past = $('#past-conversations');
    if (toggle) {
      past.hidden = !past.hidden;
      toggle.setAttribute('aria-expanded', String(!past.hidden));
    }
    const item = e.target.closest('[data-testid="past-conversation"]');
    if (item) openConversation(item.dataset.conversationId);
  }

  function leaveSelected() {
    stopTyping();
    closeSheet();
    const conv = selectedConv();
    if (conv) saveDraft(conv);
  }

  // ---- outgoing messages: pending until `ack`, resent with the same client_id ------------
  const uuid = () => (crypto.randomUUID ? crypto.randomUUID()
    : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join(''));

  function sendReply() {
    const conv = selectedConv();
    const text = ui.reply.value.replace(/^\s*\n|\s+$/g, '');
    if (!conv || !canWrite(conv) || !text.trim()) return;
    const p = {
      client_id: uuid(), conversation_id: conv.id, text, private: conv.gone ? true : ui.note.checked,
      at: new Date().toISOString(), error: null,
    };
    state.pending.set(p.client_id, p);
    transmit(p);
    ui.reply.value = '';
    ui.reply.dispatchEvent(new Event('input')); // the draft empties, typing stops, no suggestions
    renderTranscript(conv, { toBottom: true });
  }

  const transmit = (p) => send({
    type: 'message', conversation_id: p.conversation_id, client_id: p.client_id, text: p.text, private: p.private,
  });

  /** After a (re)connect: the server deduplicates by client_id, so resending is always safe. */
  function resendPending() {
    for (const p of state.pending.values()) {
      if (p.error) continue;
      if (state.convs.has(p.conversation_id) || (p.private && OVERSEER)) transmit(p);
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
    state.drafts.set(conv.id, { text: ui.reply.value, note: conv.gone ? false : ui.note.checked });
  }

  /** Tell the server (and so the visitor) that the shown conversation has been read. */
  function markRead(conv) {
    if (!conv || conv.gone || document.visibilityState !== 'visible') return;
    conv.agentReadSeq = Math.max(conv.agentReadSeq, conv.lastSeq);
    // Sent a moment later: a chat's closing message comes just before its `unassigned`, and
    // a `read` for a closed chat would only earn a "not assigned to you" error.
    if (conv.lastSeq > conv.sentReadSeq && !conv.readTimer) {
      conv.readTimer = setTimeout(() => {
        conv.readTimer = 0;
        if (state.convs.get(conv.id) !== conv || conv.closing || conv.lastSeq <= conv.sentReadSeq) return;
        if (send({ type: 'read', conversation_id: conv.id, seq: conv.lastSeq })) conv.sentReadSeq = conv.lastSeq;
      }, READ_DELAY_MS);
    }
  }

  /** Enter sends (canned.js handles its keys first, and prevents their default). */
  function onReplyKeydown(e) {
    if (e.defaultPrevented || e.isComposing) return;
    if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); sendReply(); }
  }

  // ---- alerts: toast, sound and desktop notification are notify.js's ----------------------
  const toast = (text, kind = 'info') => emit('console:alert', { text, kind });
  const warn = (text) => emit('console:alert', { text, kind: 'error', sound: true });

  function alertAssigned(conv) {
    emit('console:alert', {
      sound: true, notify: { title: `New chat: ${visitorName(conv)}`, body: lastPublicText(conv) },
      tag: `chatserver-${conv.id}`, conversationId: conv.id,
    });
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
    ui.mineEmpty.textContent = available ? 'No open chats. New ones come to you as visitors write.'
      : 'No open chats. Set yourself Available to get new ones.';
    const load = state.convs.size;
    ui.load.textContent = `${load}/${state.me.capacity}`;
    ui.load.classList.toggle('full', load >= state.me.capacity);
  }

  function renderTitle() {
    let unread = 0;
    for (const conv of state.convs.values()) unread += unreadOf(conv);
    document.title = unread ? `(${unread}) ${BASE_TITLE}` : BASE_TITLE;
  }


  /** The red "Waiting 3m — unanswered" flag, shown or not. */
  function fillFlag(node, id, since) {
    const on = unanswered(id, since);
    node.hidden = !on;
    node.textContent = on ? `Waiting ${ago(since)} — unanswered` : '';
    return on;
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
    const button = h('button', { type: 'button', class: 'conv-item-main', onclick: () => openConversation(conv.id) },
      h('span', { class: 'conv-item-row' },
        h('span', { class: 'conv-item-name' }), h('span', { class: 'conv-item-wait' })),
      h('span', { class: 'conv-item-row' },
        h('span', { class: 'conv-item-email' }), h('span', { class: 'unread', 'data-testid': 'unread' })),
      h('span', { class: 'conv-item-preview' }),
      h('span', { class: 'flag', 'data-testid': 'unanswered-flag', role: 'status', hidden: true }));
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
    const flagged = fillFlag($('.flag', li), conv.id, since);
    li.classList.toggle('flagged', flagged);
    const wait = $('.conv-item-wait', li);
    wait.textContent = since ? `waiting ${ago(since)}` : '';
    wait.classList.toggle('long', !!since && Date.now() - Date.parse(since) > 120000);
    wait.classList.toggle('late', flagged);
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

  function renderQueue() {
    reconcile(ui.queue, state.queue, (q) => String(q.id), queueItem, fillQueueItem);
    ui.queueCount.textContent = String(state.queue.length);
    ui.queueEmpty.hidden = state.queue.length > 0;
  }

  function queueItem(q) {
    return h('li', { class: 'conv-item queue-item', 'data-testid': 'conversation-item', 'data-conversation-id': q.id },
      h('button', { type: 'button', class: 'queue-main', onclick: () => openConversation(q.id) },
        h('span', { class: 'queue-position' }),
        h('span', { class: 'queue-who' },
          h('span', { class: 'conv-item-row' }, h('span', { class: 'conv-item-name' }), h('span', { class: 'conv-item-wait' })),
          h('span', { class: 'conv-item-email' }),
          h('span', { class: 'conv-item-preview' }),
          h('span', { class: 'flag', 'data-testid': 'unanswered-flag', role: 'status', hidden: true }))),
      h('button', {
        type: 'button', class: 'btn btn-small', 'data-testid': 'claim', text: 'Claim',
        onclick: (e) => claim(e.currentTarget, q.id),
      }));
  }

  function fillQueueItem(li, q) {
    const name = visitorName({ id: q.id, visitor: q.visitor });
    const row = state.queueRows.get(q.id);
    li.classList.toggle('selected', q.id === state.selected);
    $('.queue-position', li).textContent = `#${q.queue_position}`;
    $('.conv-item-name', li).textContent = name;
    fillEmail($('.conv-item-email', li), q.visitor);
    const wait = $('.conv-item-wait', li);
    wait.textContent = q.waiting_since ? `waiting ${ago(q.waiting_since)}` : '';
    const since = (row && row.unanswered_since) || q.waiting_since;
    const flagged = fillFlag($('.flag', li), q.id, since);
    wait.classList.toggle('late', flagged);
    li.classList.toggle('flagged', flagged);
    const preview = $('.conv-item-preview', li);
    preview.textContent = (row && row.last_message) || '';
    preview.hidden = !preview.textContent;
    $('.queue-main', li).setAttribute('aria-label', `Read the chat with ${name}`);
    const claimButton = $('[data-testid="claim"]', li);
    claimButton.setAttribute('aria-label', `Claim the chat with ${name}`);
    // Locked for a moment after a click: the answer is `assigned` (the row goes) or `error`.
    claimButton.disabled = !state.live || Date.now() - Number(claimButton.dataset.clickedAt || 0) < 5000;
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
    ui.pane.dataset.conversationId = String(conv.id);
    ui.name.textContent = conv.view && conv.view.loading && !conv.visitor ? `Chat #${conv.id}` : visitorName(conv);
    renderDetails(conv);
    renderBanner(conv);
    const mine = !conv.gone;
    const writable = canWrite(conv);
    ui.reply.disabled = !writable;
    ui.send.disabled = !writable;
    ui.note.disabled = !mine;
    if (!mine) ui.note.checked = writable; // not mine: notes only
    for (const control of [ui.transfer, ui.close, ui.followUp, ui.escalate]) control.disabled = !mine;
    ui.actions.hidden = !mine && !!conv.view; // someone else's chat: nothing to act on here
    if (!mine) closeSheet();
    ui.composer.classList.toggle('note-mode', ui.note.checked && writable);
    ui.composer.hidden = !mine && !writable && !!conv.view; // nothing to write in someone else's chat
    ui.reply.placeholder = !mine
      ? (writable ? 'Private note for the agents on this chat. Enter saves it.' : 'This chat is read-only.')
      : ui.note.checked
        ? 'Private note: only agents see this. Enter saves it.'
        : 'Reply to the visitor. Enter sends, Shift+Enter adds a line.';
    renderTransferOptions();
    renderTranscript(conv);
    renderTyping(conv);
    markRead(conv);
    renderMine(); // unread counts may have dropped
  }

  function renderDetails(conv) {
    if (!conv) return;
    const email = h('span', { class: 'detail' });
    fillEmail(email, conv.visitor);
    const since = conv.gone ? null : waitingSince(conv);
    const flagged = unanswered(conv.id, since);
    const promised = (state.followUps.get(conv.id) || [])[0];
    const overdue = promised && Date.parse(promised.due_at) <= Date.now();
    ui.details.replaceChildren(
      email,
      conv.customerId != null ? h('span', { class: 'detail', text: `Customer #${conv.customerId}` }) : '',
      verifiedBy(conv.visitor),
      h('span', { class: 'detail', text: `Chat #${conv.id}` }),
      conv.waitingSince ? h('span', { class: 'detail', text: `started ${ago(conv.waitingSince)} ago` }) : '',
      flagged ? h('span', { class: 'detail flag', 'data-testid': 'unanswered-flag', text: `Waiting ${ago(since)} — unanswered` })
        : since ? h('span', { class: 'detail detail-wait', text: `waiting ${ago(since)}` }) : '',
      promised ? h('span', {
        class: `detail promise${overdue ? ' promise-late' : ''}`, 'data-testid': 'conversation-follow-up',
        title: promised.note || '', text: overdue ? `Follow-up overdue (due ${soon(promised.due_at)})` : `Follow-up due ${soon(promised.due_at)}`,
      }) : '');
  }

  const VERIFIED_BY = {
    identity: ['✓ Verified identity', 'Signed in on the website: their identity is verified'],
    purchase: ['Verified by purchase', 'An agent verified a purchase of theirs (order number and email); their identity is not verified'],
  };

  /** How the visitor was proven to be their customer, if they were. */
  function verifiedBy(visitor) {
    const [text, title] = VERIFIED_BY[visitor && visitor.verified_by] || [];
    return text ? h('span', { class: `detail verified-by verified-by-${visitor.verified_by}`, 'data-testid': 'verified-by', title, text }) : '';
  }

  function renderBanner(conv) {
    if (!conv) return;
    ui.banner.hidden = !conv.gone;
    ui.banner.classList.toggle('conv-banner-viewing', conv.gone === 'viewing');
    if (!conv.gone) return;
    if (conv.gone !== 'viewing') {
      ui.banner.textContent = `This chat ${REASONS[conv.gone] || REASONS.gone}. It is shown read-only.`;
      return;
    }
    const v = conv.view || {};
    if (v.loading) { ui.banner.textContent = 'Loading the transcript…'; return; }
    if (v.error) { ui.banner.textContent = v.error; return; }
    if (v.status === 'closed') {
      ui.banner.textContent = `This chat is closed${v.closedAt ? ` (${dayTime(v.closedAt)})` : ''}${v.agentName ? `; ${v.agentName} handled it` : ''}. Read-only.`;
    } else if (v.status === 'queued') {
      const button = h('button', {
        type: 'button', class: 'btn btn-small btn-primary', 'data-testid': 'claim-shown', text: 'Claim',
        onclick: (e) => claim(e.currentTarget, conv.id),
      });
      button.disabled = !state.live;
      ui.banner.replaceChildren('Waiting in the queue: read-only until you claim it. ', button);
    } else {
      ui.banner.textContent = `${v.agentName || 'Another agent'} is handling this chat. You see it read-only${OVERSEER ? ' and can add private notes' : ''}.`;
    }
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
    // Opened from a search: show the first place the words were found, once it is there.
    if (switched || list.dataset.highlight !== state.highlight) list.dataset.seekMark = state.highlight ? '1' : '';
    list.dataset.highlight = state.highlight;
    reconcile(list, items, (it) => (it.m.client_id && roleOf(it.m) === 'agent' ? `c${it.m.client_id}` : messageKey(it.m)),
      () => h('div'), fillMessage); // a log's entries, not list items
    const mark = list.dataset.seekMark ? list.querySelector('mark') : null;
    if (mark) {
      list.dataset.seekMark = '';
      const offset = mark.getBoundingClientRect().top - list.getBoundingClientRect().top;
      list.scrollTop += offset - list.clientHeight / 3;
    } else if (switched || toBottom || nearBottom) {
      list.scrollTop = list.scrollHeight;
    }
  }

  function rerenderTranscript() {
    const conv = selectedConv();
    if (conv) renderTranscript(conv);
  }

  /** The seq of my last public message the visitor has read, to mark it "Seen". */
  function lastSeenAgentSeq(conv) {
    let seen = 0;
    for (const m of conv.messages) {
      if (!m.private && roleOf(m) === 'agent' && m.seq <= conv.visitorReadSeq) seen = m.seq;
    }
    return seen;
  }

  /** A message's text, with the searched words in <mark>. */
  function messageText(tag, cls, text) {
    return fillMarked(h(tag, { class: cls }), text, state.highlight);
  }

  /** (Re)build one message's element, only when what it shows has changed. */
  function fillMessage(node, it) {
    const { m } = it;
    const signature = `${it.state}|${m.seq}|${m.note_seq}|${it.seen}|${it.error || ''}|${state.highlight}`;
    if (node.dataset.signature === signature) return;
    node.dataset.signature = signature;
    const role = roleOf(m);
    node.className = `msg msg-${role}${m.private ? ' msg-note' : ''} msg-${it.state}`;
    node.dataset.testid = 'message';
    node.dataset.role = role;
    node.dataset.state = it.state === 'sent' ? 'sent' : 'pending';
    node.dataset.private = String(!!m.private);
    if (m.seq != null) node.dataset.seq = String(m.seq); else delete node.dataset.seq;
    if (m.note_seq != null) node.dataset.noteSeq = String(m.note_seq); else delete node.dataset.noteSeq;
    node.textContent = '';
    if (role === 'system') {
      node.append(messageText('span', 'msg-text', m.text), h('time', { class: 'msg-time', datetime: m.at, text: clock(m.at) }));
      return;
    }
    const footer = messageFooter(m, it);
    node.append(
      h('div', { class: 'msg-meta' },
        m.private ? h('span', { class: 'msg-tag', text: 'Private note' }) : null,
        h('span', { class: 'msg-author', text: (m.author && m.author.name) || (role === 'visitor' ? 'Visitor' : 'Agent') }),
        h('time', { class: 'msg-time', datetime: m.at, text: clock(m.at) })),
      messageText('div', 'msg-text', m.text),
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

  // ---- the forms under the header: follow-up and escalation ------------------------------
  function openSheet(name) {
    const conv = selectedConv();
    if (!conv || conv.gone) return;
    state.sheet = state.sheet === name ? null : name; // the button toggles
    renderSheets();
    if (!state.sheet) return;
    const form = state.sheet === 'follow-up' ? ui.followUpForm : ui.escalateForm;
    for (const error of form.querySelectorAll('[role="alert"]')) error.remove(); // from a last try
    const due = $('[name="due"]', form);
    if (due && !(Date.parse(due.value) > Date.now())) due.value = localInputValue(defaultDue());
    if (due) due.min = localInputValue(new Date());
    $('[name="note"]', form).focus();
  }

  function closeSheet() {
    if (!state.sheet) return;
    state.sheet = null;
    renderSheets();
  }

  function renderSheets() {
    ui.followUpForm.hidden = state.sheet !== 'follow-up';
    ui.escalateForm.hidden = state.sheet !== 'escalate';
    ui.followUp.setAttribute('aria-expanded', String(state.sheet === 'follow-up'));
    ui.escalate.setAttribute('aria-expanded', String(state.sheet === 'escalate'));
    ui.followUp.classList.toggle('active', state.sheet === 'follow-up');
    ui.escalate.classList.toggle('active', state.sheet === 'escalate');
  }

  /** An hour from now, on the next quarter hour. */
  function defaultDue() {
    const d = new Date(Date.now() + 3600000);
    d.setSeconds(0, 0);
    d.setMinutes(Math.ceil(d.getMinutes() / 15) * 15);
    return d;
  }

  /** The sheets post with htmx: to the shown chat, with this browser's offset from UTC for
   * the follow-up's local time. The server answers with the fields (an error in place) and,
   * when done, `console:sheet-done`. */
  function addSheetParameters(event) {
    const conv = selectedConv();
    const params = event.detail.parameters;
    params.conversation_id = conv ? String(conv.id) : '';
    if (params.due) params.offset = String(new Date(params.due).getTimezoneOffset());
  }

  function sheetDone() {
    closeSheet();
    if (!narrow() && !ui.reply.disabled) ui.reply.focus();
  }

  // ---- closing: confirmed in a dialog (keys.js shows it) ---------------------------------
  function askClose() {
    const conv = selectedConv();
    if (!conv || conv.gone) return;
    ui.confirmText.textContent = `The chat with ${visitorName(conv)} ends; they are told it was closed.`;
    ui.confirmClose.dataset.conversationId = String(conv.id);
    emit('console:dialog', { name: 'confirm-close' });
  }

  function confirmClose() {
    const id = Number(ui.confirmClose.dataset.conversationId); // the dialog closes itself
    if (id === state.selected) closeConversation();
  }

  // ---- user actions ---------------------------------------------------------------------
  function select(id, { focus = true } = {}) {
    if (state.selected === id) return;
    leaveSelected();
    state.selected = id;
    if (state.ended && state.ended.id !== id) state.ended = null;
    const draft = state.drafts.get(id) || { text: '', note: false };
    ui.reply.value = draft.text;
    ui.note.checked = draft.note;
    ui.close.disabled = false;
    renderMine();
    renderQueue();
    renderPane();
    loadVisitor(id);
    if (focus && !narrow()) ui.reply.focus();
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
    conv.closing = send({ type: 'close', conversation_id: conv.id });
    ui.close.disabled = conv.closing; // re-enabled on error
  }

  ui.presence.addEventListener('click', togglePresence);
  ui.transfer.addEventListener('change', transfer);
  ui.close.addEventListener('click', askClose); // the same confirmation as `c`
  ui.followUp.addEventListener('click', () => openSheet('follow-up'));
  ui.escalate.addEventListener('click', () => openSheet('escalate'));
  for (const form of [ui.followUpForm, ui.escalateForm]) {
    form.addEventListener('htmx:configRequest', addSheetParameters);
    form.addEventListener('click', (e) => { if (e.target.closest('[data-action="cancel-sheet"]')) sheetDone(); });
  }
  document.addEventListener('console:sheet-done', sheetDone);
  ui.back.addEventListener('click', () => {
    leaveSelected();
    state.selected = null;
    state.ended = null;
    state.highlight = '';
    renderAll();
  });
  ui.composer.addEventListener('submit', (e) => { e.preventDefault(); sendReply(); });
  ui.reply.addEventListener('input', onReplyInput);
  ui.reply.addEventListener('keydown', onReplyKeydown);
  ui.note.addEventListener('change', () => {
    stopTyping();
    const conv = selectedConv();
    if (conv) saveDraft(conv);
    renderPane();
    ui.reply.focus();
  });
  ui.confirmYes.addEventListener('click', confirmClose);
  ui.pane.addEventListener('click', onPaneClick);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState !== 'visible') return;
    if (!socket) { clearTimeout(retryTimer); connect(); } else ping();
    renderPane();
  });
  window.addEventListener('online', () => { if (!socket) { backoff = RECONNECT_MIN_MS; connect(); } });
  setInterval(() => {
    renderMine();
    renderQueue();
    const conv = selectedConv();
    if (conv) renderDetails(conv);
    fillLocalTimes();
  }, CLOCK_TICK_MS);
  setInterval(() => { // someone else's open chat goes on without us: read it again
    const conv = state.ended;
    if (conv && conv.view && !conv.view.loading && conv.view.status !== 'closed' &&
        conv.id === state.selected && document.visibilityState === 'visible') loadViewed(conv.id);
  }, VIEW_REFRESH_MS);

  renderAll();
  renderSheets();
  connect();
})();
