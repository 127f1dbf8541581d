/* Chatserver console: the agent socket (/ws/agent, on the session cookie). On each frame it
 * tells the server-rendered parts to read themselves again (htmx `news`), appends the newer
 * messages to the transcript, and passes the frame on as `console:frame`; `console:selected`
 * says which chat the pane shows, `console:open` {id} opens one. */
const RECONNECT_MAX_MS = 10000;
const PING_EVERY_MS = 25000; // keeps proxies from idling the socket out...
const PONG_WAIT_MS = 10000; // ...and finds a dead one the browser has not noticed
const TYPING_TTL_MS = 20000; // hide a visitor's indicator if its `false` got lost
const SIGNED_OUT = 4001; // the server's close code for a session that ended
const $ = (selector, root = document) => root.querySelector(selector);
const ME = Number($('#console').dataset.agentId);
const OVERSEER = $('#console').dataset.oversees === 'true';
const pane = $('#pane');
const alerts = $('[data-testid="alerts"]');
const emit = (name, detail) => document.dispatchEvent(new CustomEvent(name, { detail }));
const alert = (detail) => emit('console:alert', detail);
const shown = () => ($('.conv-part', pane) ? Number($('.conv-part', pane).dataset.conversationId) : null);
const wanted = () => pane.dataset.wanted || null; // the chat last asked of the pane (j / k)
const news = (selector) => document.querySelectorAll(selector).forEach((n) => htmx.trigger(n, 'news'));
const quiet = () => { /* replaced by a newer request, or offline: nothing to tell */ };
const open = (id) => htmx.ajax('GET', `/console/parts/conversation/${Number(id)}`,
  { source: '#pane-sync', target: '#pane' }).catch(quiet); // as the lists' buttons (macros.html: opens)
const reopen = (id) => { if (id != null && id === shown()) open(id); };
const detail = (id) => { if (id != null && id === shown()) news('[data-part="details"]'); };
const nameOf = (id) => ($(`[data-conversation-id="${id}"] .conv-item-name`) || { textContent: `chat #${id}` }).textContent;

// ---- the socket ---------------------------------------------------------------------------
let socket = null, live = false, backoff = 500, pongTimer = 0, retryTimer = 0;

function connect() {
  clearTimeout(retryTimer);
  const ws = socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/agent`);
  live = false;
  connection('Connecting…', 'connecting');
  ws.onmessage = (event) => { if (ws === socket) receive(event.data); };
  ws.onclose = (event) => { if (ws === socket) { if (event.code === SIGNED_OUT) signIn(); else lost(); } };
}
const signIn = () => location.assign('/console/login');

/** Gone: try again later, doubling the wait up to RECONNECT_MAX_MS. */
function lost() {
  socket.onclose = socket.onmessage = null;
  socket.close();
  if (!live) { // a refused handshake looks like a plain close: signed out?
    fetch('/console', { redirect: 'manual', cache: 'no-store' }).then((r) => { if (r.type === 'opaqueredirect') signIn(); }, quiet);
  }
  socket = null;
  unpong();
  connection('Reconnecting…', 'offline');
  retryTimer = setTimeout(connect, backoff);
  backoff = Math.min(backoff * 2, RECONNECT_MAX_MS);
}

const send = (frame) => socket && socket.readyState === WebSocket.OPEN && (socket.send(JSON.stringify(frame)), true);
window.ConsoleSocket = Object.freeze({ send });
const connection = (text, state) => Object.assign($('[data-testid="connection"]'), { textContent: text }).dataset.state = state;
const unpong = () => { clearTimeout(pongTimer); pongTimer = 0; };
const ping = () => { if (live && !pongTimer && send({ type: 'ping' })) pongTimer = setTimeout(lost, PONG_WAIT_MS); };
setInterval(ping, PING_EVERY_MS);

function receive(data) {
  let frame;
  try { frame = JSON.parse(data); } catch (e) { return; }
  if (!frame || typeof frame !== 'object') return;
  const does = Object.hasOwn(NEWS, frame.type) ? NEWS[frame.type] : {};
  does.then?.(frame);
  (does.parts || []).forEach((name) => news(`[data-part="${name}"]`));
  emit('console:frame', frame);
}

// ---- each frame: the parts it may change, and what else it does ---------------------------
// (An `error`: a message's is composer.js's; one refusing a typing or read mark needs no telling.)
const REASONS = { closed: 'was closed', transferred: 'was transferred', requeued: 'went back to the queue' };
const NEWS = {
  welcome: { parts: ['inbox', 'open', 'closed', 'followups'], then() {
    [live, backoff] = [true, 500];
    connection('Live', 'live');
    reopen(shown()); // it may have changed while we were away
  } },
  pong: { then: unpong },
  signed_out: { then: signIn },
  queue: { parts: ['inbox', 'open'] },
  team: { parts: ['inbox', 'open', 'transfer'], then(f) { // another tab of mine switched
    const me = (f.agents || []).find((a) => a.id === ME);
    if (me && me.status !== $('[data-testid="presence"]').dataset.status) news('[data-part="presence"]');
  } },
  assigned: { parts: ['inbox', 'open'], then(f) {
    const c = f.conversation || {};
    const last = c.messages?.findLast((m) => m.author?.role === 'visitor');
    alert({ sound: true, tag: `chatserver-${c.id}`, conversationId: c.id,
      notify: { title: `New chat: ${c.visitor?.name || 'a visitor'}`, body: last?.text ?? '' } });
    if (c.id === shown() || (wanted() == null && !matchMedia('(max-width: 760px)').matches)) open(c.id);
  } },
  unassigned: { parts: ['inbox', 'open', 'closed'], then(f) {
    alert({ text: `The chat with ${nameOf(f.conversation_id)} ${REASONS[f.reason] || 'is no longer assigned to you'}.` });
    reopen(f.conversation_id);
  } },
  message: { parts: ['inbox'], then(f) {
    if (f.conversation_id !== shown()) return;
    news('#transcript-items, [data-part="details"]');
    if (f.author?.role === 'visitor') typing(null);
  } },
  ack: { then(f) { if (f.conversation_id === shown()) news('#transcript-items'); } },
  read: { parts: ['inbox'], then(f) { // the "Seen" mark moves: the whole transcript again
    if (f.role === 'visitor' && f.conversation_id === shown()) htmx.trigger('#transcript-reread', 'reread');
  } },
  typing: { then(f) {
    if (f.role === 'visitor' && f.conversation_id === shown()) typing(f.active ? (f.name || 'The visitor') : null);
  } },
  unanswered: { parts: ['inbox', 'open'], then(f) {
    const c = f.conversation || {};
    const text = `${nameOf(c.id)} has waited too long without an answer.`;
    if ($(`[data-testid="mine-list"] [data-conversation-id="${c.id}"]`)) alert({ text, kind: 'error', sound: true });
    detail(c.id);
  } },
  escalation: { parts: ['open'], then(f) { reopen(f.conversation_id); if (OVERSEER && f.by?.id !== ME) escalated(f); } },
  follow_up: { parts: ['followups'], then({ follow_up: item }) {
    const text = `Follow-up overdue: you promised ${nameOf(item?.conversation_id)} an answer.`;
    if (item?.overdue && !item.done_at && item.agent?.id === ME) alert({ text, kind: 'error', sound: true });
  } },
  customer: { parts: ['inbox'], then(f) { detail(f.conversation_id); } },
};

let typingTimer = 0;
function typing(name) {
  const node = $('[data-testid="typing-indicator"]', pane);
  clearTimeout(typingTimer);
  if (node) Object.assign(node, { textContent: name ? `${name} is typing…` : '', hidden: !name });
  if (name) typingTimer = setTimeout(typing, TYPING_TTL_MS, null);
}

/** A supervisor's alert: the card (sidebar.html's template) filled in from the frame. */
function escalated(f) {
  const by = f.by?.name || 'An agent';
  const chat = f.visitor?.name ? `the chat with ${f.visitor.name}` : 'a visitor\'s chat';
  const card = $('#escalation-alert').content.firstElementChild.cloneNode(true);
  card.dataset.conversationId = f.conversation_id;
  $('.alert-title', card).textContent = `${by} asks a supervisor to join`;
  $('.alert-meta', card).textContent = `${chat} · #${f.conversation_id}`;
  $('.alert-note', card).textContent = f.note ? `“${f.note}”` : '';
  $('[data-dismiss-alert]', card).setAttribute('aria-label', `Dismiss the alert about chat #${f.conversation_id}`);
  $(`[data-conversation-id="${f.conversation_id}"]`, alerts)?.remove(); // one card a chat
  alerts.prepend(card);
  alert({ sound: true, conversationId: f.conversation_id, notify: { title: `Escalation: ${by} needs a supervisor`, body: f.note || chat } });
}
alerts.addEventListener('click', (e) => { // Open chat, or Dismiss: the card goes either way
  const card = e.target.closest('button') && e.target.closest('[data-testid="escalation-alert"]');
  if (card && e.target.closest('[data-open-alert]')) open(card.dataset.conversationId);
  if (card) card.remove();
});

// ---- the pane and the transcript ----------------------------------------------------------
document.addEventListener('console:open', (e) => open(e.detail.id));
document.addEventListener('console:changed', (e) => detail(e.detail.conversationId));

let nearBottom = true;
document.body.addEventListener('htmx:beforeSwap', (e) => {
  // the same colleagues to transfer to: keep the menu (rebuilding an open <select> closes it)
  const menu = e.detail.target.matches('[data-part="transfer"]') && $('form', e.detail.target);
  if (menu && e.detail.serverResponse.includes(`data-targets="${menu.dataset.targets}"`)) e.detail.shouldSwap = false;
  const log = $('.transcript', pane);
  nearBottom = !log || log.scrollHeight - log.scrollTop - log.clientHeight < 60;
});

document.body.addEventListener('htmx:beforeRequest', (e) => {
  const asked = e.detail.target === pane && /\/conversation\/(\d+)(\?)?/.exec(e.detail.requestConfig.path);
  if (!asked) return;
  const again = asked[1] === String(shown()) && asked[1] === wanted() && !asked[2] && e.detail.elt.closest('.sidebar');
  if (!again || e.detail.requestConfig.verb !== 'get') { pane.dataset.wanted = asked[1]; return; }
  e.preventDefault(); // shown already: kept as it is, the reply box focused if the agent clicked (not j / k)
  if (e.detail.requestConfig.triggeringEvent?.isTrusted) $('#reply')?.focus();
});

document.body.addEventListener('htmx:afterSwap', (e) => {
  const log = $('.transcript', pane);
  if (e.detail.target === pane) {
    const c = $('.conv-part', pane);
    pane.dataset.wanted = c?.dataset.conversationId ?? '';
    document.body.classList.toggle('show-conversation', !!c);
    emit('console:selected', c ? { id: shown(), customerId: c.dataset.customerId ? Number(c.dataset.customerId) : null } : null);
    if (log && $('mark', log)) $('mark', log).scrollIntoView({ block: 'center' }); else if (log) log.scrollTop = log.scrollHeight;
  } else if (e.detail.target.id === 'transcript-items' && nearBottom) {
    log.scrollTop = log.scrollHeight;
  }
  for (const li of document.querySelectorAll('.sidebar li[data-conversation-id]')) { // the chat shown, in every list
    const on = li.classList.toggle('selected', li.dataset.conversationId === String(shown()));
    li.querySelector('[hx-get]').toggleAttribute('aria-current', on);
  }
});

// A message that came while the pane was on its way may have missed both, and an act in it
// (claim, transfer, close) changes the inbox: ask once more, once the new transcript listens.
document.body.addEventListener('htmx:afterSettle', (e) => {
  if (e.detail.target === pane) news('#transcript-items, [data-part="inbox"]');
});

pane.addEventListener('click', (e) => { // past chats fold in and out
  const toggle = e.target.closest('[data-testid="past-toggle"]');
  if (toggle) toggle.ariaExpanded = String(!($('#past-conversations').hidden = !$('#past-conversations').hidden));
});

document.addEventListener('visibilitychange', () => { if (!document.hidden) { if (socket) ping(); else connect(); } });
window.addEventListener('online', () => { if (!socket) { backoff = 500; connect(); } });
connect();
