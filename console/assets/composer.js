/* Chatserver console: the reply box of the chat in the pane. A message waits below the transcript
 * ("Sending…", pane.html's #pending-message) until the transcript brings it back; it is sent again
 * with the same client_id after a reconnect (the server never posts it twice), and shows the
 * server's reason with Retry and Discard when refused. A file is uploaded first, then carried by a
 * message. Also: typing and read marks, a draft per chat, the note toggle. */
const TYPING_IDLE_MS = 3000; // `typing: false` after this long without a keystroke
const TYPING_REPEAT_MS = 2500; // while typing, `true` again at most this often
const READ_DELAY_MS = 300; // a chat's closing message comes just before its `unassigned`
const $ = (selector, root = document) => root.querySelector(selector);
const send = (frame) => window.ConsoleSocket.send(frame);
const pending = new Map(); // client_id -> {conversation_id, client_id, text, private, file?, attachmentId?, progress?, error}
const drafts = new Map(); // conversation id -> {text, note}
const readSent = new Map(); // conversation id -> the last seq marked read
const part = () => $('#pane .conv-part');
const shown = () => (part() ? Number(part().dataset.conversationId) : null);
const mine = () => part().dataset.mine === 'true';
const box = () => $('#reply');
const noteBox = () => $('[data-testid="note-toggle"]');

// ---- outgoing messages --------------------------------------------------------------------
function post(text, file) {
  const p = { client_id: crypto.randomUUID(), conversation_id: shown(), text, file, private: noteBox().checked, error: null };
  pending.set(p.client_id, p);
  transmit(p);
  renderPending();
}

const transmit = (p) => (p.file && !p.attachmentId ? upload(p) : send({ type: 'message', conversation_id: p.conversation_id,
  client_id: p.client_id, text: p.text, private: p.private, ...(p.attachmentId ? { attachment_id: p.attachmentId } : {}) }));

/** A retry uploads again only when the upload itself failed (the same client_id either way). */
function upload(p) {
  const xhr = new XMLHttpRequest();
  const form = new FormData();
  form.append('file', p.file);
  xhr.open('POST', '/api/attachments');
  xhr.setRequestHeader('X-CSRF-Token', $('meta[name="csrf-token"]').content);
  xhr.upload.onprogress = (e) => { p.progress = Math.round((100 * e.loaded) / (e.total || 1)); renderPending(); };
  xhr.onloadend = () => {
    let answer = {};
    try { answer = JSON.parse(xhr.responseText); } catch (e) { /* no answer: the network */ }
    if (xhr.status === 201) { p.attachmentId = answer.attachment.id; transmit(p); }
    else p.error = `Not sent: ${answer.error?.message || 'the upload failed.'}`;
    renderPending();
  };
  xhr.send(form);
}

/** The messages of the shown chat not yet in its transcript, after it. */
function renderPending() {
  const list = $('#pending');
  if (!list) return;
  for (const node of document.querySelectorAll('#transcript-items [data-client-id]')) pending.delete(node.dataset.clientId);
  list.replaceChildren(...[...pending.values()].filter((p) => p.conversation_id === shown()).map((p) => {
    const node = $('#pending-message').content.firstElementChild.cloneNode(true);
    node.classList.add(p.error ? 'msg-failed' : 'msg-pending', ...(p.private ? ['msg-note'] : [])); // (CSS shows what fits)
    Object.assign(node.dataset, { private: p.private, clientId: p.client_id });
    $('.msg-text', node).textContent = p.text || p.file.name;
    if (p.error) $('.msg-status', node).role = 'alert';
    $('.msg-status span', node).textContent = p.error || (p.file && !p.attachmentId ? `Uploading ${p.file.name} ${p.progress || 0}%` : 'Sending…');
    return node;
  }));
  list.parentElement.scrollTop = list.parentElement.scrollHeight;
}

document.addEventListener('click', (e) => { // a refused message's Retry and Discard
  const button = e.target.closest('#pending button');
  const p = button && pending.get(button.closest('[data-client-id]').dataset.clientId);
  if (!p) return;
  if (button.dataset.retry != null) { p.error = null; transmit(p); } else pending.delete(p.client_id);
  renderPending();
});

document.addEventListener('console:frame', ({ detail: f }) => {
  if (f.type === 'welcome') for (const p of pending.values()) if (!p.error && (!p.file || p.attachmentId)) transmit(p);
  if (f.type === 'error' && pending.has(f.client_id)) {
    pending.get(f.client_id).error = `Not sent: ${f.message || 'the server refused it.'}`; // the server's words
    renderPending();
  }
  if (f.type === 'unassigned' && f.conversation_id === typist.conv) typist.on = false;
});

// ---- typing and reading -------------------------------------------------------------------
const typist = { on: false, conv: null, private: false, lastSent: 0, idleTimer: 0 };

function onInput() {
  const conv = shown();
  const priv = noteBox().checked;
  drafts.set(conv, { text: box().value, note: priv });
  if (!mine() || !box().value.trim()) return stopTyping();
  if (typist.on && (typist.conv !== conv || typist.private !== priv)) stopTyping();
  const now = Date.now();
  if ((!typist.on || now - typist.lastSent > TYPING_REPEAT_MS) && send({ type: 'typing', conversation_id: conv, active: true, private: priv })) {
    Object.assign(typist, { on: true, conv, private: priv, lastSent: now });
  }
  clearTimeout(typist.idleTimer);
  typist.idleTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
}

function stopTyping() {
  clearTimeout(typist.idleTimer);
  if (typist.on) send({ type: 'typing', conversation_id: typist.conv, active: false, private: typist.private });
  typist.on = false;
}

/** Tell the server (and so the visitor) that the shown chat has been read, up to its end. */
function markRead() {
  const conv = shown();
  const seq = Number($('#transcript-after').value); // the last the transcript shows (pane.html)
  const due = () => shown() === conv && mine() && seq > (readSent.get(conv) || 0);
  if (conv == null || document.visibilityState !== 'visible' || !due()) return;
  setTimeout(() => { if (due() && send({ type: 'read', conversation_id: conv, seq })) readSent.set(conv, seq); }, READ_DELAY_MS);
}

// ---- the pane's composer, whichever chat it shows -----------------------------------------
const noteMode = () => { box().placeholder = noteBox().checked ? box().dataset.note : box().dataset.reply; }; // (the look: CSS)

// The reply box keeps the focus when the pane is read again, and takes it when the agent
// opened the chat (a click, not j / k, which leave the focus where it was).
let focused = false;
document.body.addEventListener('htmx:beforeRequest', (e) => {
  if (e.detail.target.id === 'pane') focused = !!e.detail.requestConfig.triggeringEvent?.isTrusted || document.activeElement.id === 'reply';
});
document.body.addEventListener('htmx:beforeSwap', (e) => { if (e.detail.target.id === 'pane') stopTyping(); });
document.body.addEventListener('htmx:afterSwap', (e) => {
  const target = e.detail.target.id;
  if (target === 'pane' && box()) {
    const draft = drafts.get(shown());
    if (draft) { box().value = draft.text; if (!noteBox().disabled) noteBox().checked = draft.note; noteMode(); }
    if (focused && !matchMedia('(max-width: 760px)').matches) box().focus();
  }
  if (target === 'pane' || target === 'transcript-items') { renderPending(); markRead(); }
});
document.addEventListener('visibilitychange', markRead);

document.addEventListener('submit', (e) => {
  if (!e.target.matches('[data-composer]')) return;
  e.preventDefault();
  const text = box().value.replace(/^\s*\n|\s+$/g, '');
  if (!text.trim()) return;
  post(text);
  box().value = '';
  box().dispatchEvent(new Event('input', { bubbles: true })); // the draft empties, typing stops
});
document.addEventListener('input', (e) => { if (e.target.id === 'reply') onInput(); });
document.addEventListener('paste', (e) => {
  if (e.target.id === 'reply' && e.clipboardData.files.length) { e.preventDefault(); [...e.clipboardData.files].forEach((f) => post('', f)); }
});
document.addEventListener('change', (e) => {
  if (e.target.dataset.testid === 'attach') { [...e.target.files].forEach((f) => post('', f)); e.target.value = ''; }
  if (e.target.dataset.testid !== 'note-toggle') return;
  noteMode();
  onInput(); // the draft keeps the mode; typing goes on, as a note or as a reply
  box().focus();
});
/** Enter sends (canned.js sees the keys first, and prevents the default of those it takes). */
document.addEventListener('keydown', (e) => {
  if (e.target.id !== 'reply' || e.defaultPrevented || e.isComposing || e.key !== 'Enter' || e.shiftKey) return;
  e.preventDefault(); // no new line: sent
  e.target.form.requestSubmit();
});
