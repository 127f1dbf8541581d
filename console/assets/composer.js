/* Chatserver console: the reply box of the chat in the pane. A message waits below the
 * transcript ("Sending…") until the transcript brings it back from the server; it is resent
 * with the same client_id after a reconnect (the server never posts it twice), and shows
 * Retry and Discard when refused. Also: typing and read marks, a draft kept per chat, and
 * the note toggle. Text only ever enters the page as text nodes. */
(() => {
  'use strict';

  const TYPING_IDLE_MS = 3000; // `typing: false` after this long without a keystroke
  const TYPING_REPEAT_MS = 2500; // while typing, repeat `true` at most this often
  const READ_DELAY_MS = 300; // a chat's closing message comes just before its `unassigned`
  const $ = (selector, root = document) => root.querySelector(selector);
  const send = (frame) => window.ConsoleSocket.send(frame);
  const pending = new Map(); // client_id -> {conversation_id, client_id, text, private, at, error}
  const drafts = new Map(); // conversation id -> {text, note}
  const readSent = new Map(); // conversation id -> the last seq marked read
  const part = () => $('#pane .conv-part');
  const shown = () => (part() ? Number(part().dataset.conversationId) : null);
  const box = () => $('#reply');
  const noteBox = () => $('[data-testid="note-toggle"]');

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }

  // ---- outgoing messages --------------------------------------------------------------------
  const transmit = (p) => (p.file && !p.attachmentId ? upload(p) : send({ type: 'message',
    conversation_id: p.conversation_id, client_id: p.client_id, text: p.text, private: p.private,
    ...(p.attachmentId ? { attachment_id: p.attachmentId } : {}) }));

  // ---- a file: uploaded first (its progress shown), then sent in a message that carries it;
  // a retry uploads again only when the upload itself failed (the same client_id either way)
  function attach(file) {
    const p = { client_id: crypto.randomUUID(), conversation_id: shown(), text: '', file, private: noteBox().checked,
      at: new Date().toISOString(), error: null };
    pending.set(p.client_id, p);
    transmit(p);
    renderPending();
  }

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
      if (xhr.status === 201) { p.attachmentId = answer.attachment.id; transmit(p); } else {
        p.error = `Not sent: ${(answer.error && answer.error.message) || 'the upload failed.'}`;
      }
      renderPending();
    };
    xhr.send(form);
  }

  function sendReply() {
    const text = box().value.replace(/^\s*\n|\s+$/g, '');
    if (!text.trim()) return;
    const p = { client_id: crypto.randomUUID(), conversation_id: shown(), text, private: noteBox().checked,
      at: new Date().toISOString(), error: null };
    pending.set(p.client_id, p);
    transmit(p);
    box().value = '';
    box().dispatchEvent(new Event('input', { bubbles: true })); // the draft empties, typing stops
    renderPending();
  }

  /** The messages of the shown chat not yet in its transcript, after it. */
  function renderPending() {
    const list = $('#pending');
    if (!list) return;
    for (const node of document.querySelectorAll('#transcript-items [data-client-id]')) pending.delete(node.dataset.clientId);
    const waiting = [...pending.values()].filter((p) => p.conversation_id === shown());
    list.replaceChildren(...waiting.map(item));
    const log = list.parentElement;
    log.scrollTop = log.scrollHeight;
  }

  function item(p) {
    const node = el('div', `msg msg-agent${p.private ? ' msg-note' : ''} msg-${p.error ? 'failed' : 'pending'}`);
    Object.assign(node.dataset, { testid: 'message', role: 'agent', state: 'pending', private: String(p.private) });
    const meta = el('div', 'msg-meta');
    if (p.private) meta.append(el('span', 'msg-tag', 'Private note'));
    meta.append(el('span', 'msg-author', $('.me-name').textContent));
    const status = el('div', p.error ? 'msg-status msg-status-error' : 'msg-status', p.error ? null : 'Sending…');
    if (p.error) {
      status.setAttribute('role', 'alert');
      const retry = el('button', 'link', 'Retry');
      const discard = el('button', 'link', 'Discard');
      retry.type = discard.type = 'button';
      retry.onclick = () => { p.error = null; transmit(p); renderPending(); };
      discard.onclick = () => { pending.delete(p.client_id); renderPending(); };
      status.append(el('span', null, p.error), ' ', retry, ' ', discard);
    }
    const uploading = p.file && !p.attachmentId && !p.error;
    if (uploading) status.textContent = `Uploading ${p.file.name} ${p.progress || 0}%`;
    node.append(meta, el('div', 'msg-text', p.text || (p.file && p.file.name)), status);
    return node;
  }

  document.addEventListener('console:frame', ({ detail: f }) => {
    if (f.type === 'welcome') { for (const p of pending.values()) if (!p.error && (!p.file || p.attachmentId)) transmit(p); }
    if (f.type === 'error' && pending.has(f.client_id)) {
      pending.get(f.client_id).error = `Not sent: ${f.message || 'the server refused it.'}`; // the server's words
      renderPending();
    }
    if (f.type === 'unassigned' && f.conversation_id === typingState.conv) typingState.on = false;
  });

  // ---- typing and reading -------------------------------------------------------------------
  const typingState = { on: false, conv: null, private: false, lastSent: 0, idleTimer: 0 };

  function onInput() {
    const conv = shown();
    drafts.set(conv, { text: box().value, note: noteBox().checked });
    if (part().dataset.mine !== 'true' || !box().value.trim()) { stopTyping(); return; }
    const priv = noteBox().checked;
    if (typingState.on && (typingState.conv !== conv || typingState.private !== priv)) stopTyping();
    const now = Date.now();
    if ((!typingState.on || now - typingState.lastSent > TYPING_REPEAT_MS) &&
        send({ type: 'typing', conversation_id: conv, active: true, private: priv })) {
      Object.assign(typingState, { on: true, conv, private: priv, lastSent: now });
    }
    clearTimeout(typingState.idleTimer);
    typingState.idleTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  function stopTyping() {
    clearTimeout(typingState.idleTimer);
    if (!typingState.on) return;
    typingState.on = false;
    send({ type: 'typing', conversation_id: typingState.conv, active: false, private: typingState.private });
  }

  /** Tell the server (and so the visitor) that the shown chat has been read, up to its end. */
  function markRead() {
    const conv = shown();
    if (conv == null || part().dataset.mine !== 'true' || document.visibilityState !== 'visible') return;
    const seq = [...document.querySelectorAll('#transcript-items [data-seq]')].reduce((n, m) => Math.max(n, Number(m.dataset.seq)), 0);
    if (seq <= (readSent.get(conv) || 0)) return;
    setTimeout(() => {
      if (shown() !== conv || part().dataset.mine !== 'true' || seq <= (readSent.get(conv) || 0)) return;
      if (send({ type: 'read', conversation_id: conv, seq })) readSent.set(conv, seq);
    }, READ_DELAY_MS);
  }

  // ---- the pane's composer, whichever chat it shows --------------------------------------------
  function noteMode() {
    const note = noteBox().checked;
    box().placeholder = note ? box().dataset.note : box().dataset.reply;
    $('[data-composer]').classList.toggle('note-mode', note);
  }

  // The reply box keeps the focus when the pane is read again, and takes it when the agent
  // opened the chat (a click, not j / k, which leave the focus where it was).
  let focused = false;
  document.body.addEventListener('htmx:beforeRequest', (e) => {
    if (e.detail.target.id !== 'pane') return;
    const cause = e.detail.requestConfig.triggeringEvent;
    focused = !!(cause && cause.isTrusted) || document.activeElement.id === 'reply';
  });
  document.body.addEventListener('htmx:beforeSwap', (e) => { if (e.detail.target.id === 'pane') stopTyping(); });
  document.body.addEventListener('htmx:afterSwap', (e) => {
    const target = e.detail.target;
    if (target.id === 'pane' && box()) {
      const draft = drafts.get(shown());
      if (draft) { box().value = draft.text; if (!noteBox().disabled) noteBox().checked = draft.note; noteMode(); }
      if (focused && !matchMedia('(max-width: 760px)').matches) box().focus();
    }
    if (target.id === 'pane' || target.id === 'transcript-items') { renderPending(); markRead(); }
  });
  document.addEventListener('visibilitychange', markRead);

  document.addEventListener('submit', (e) => {
    if (!e.target.matches('[data-composer]')) return;
    e.preventDefault();
    sendReply();
  });
  document.addEventListener('input', (e) => { if (e.target.id === 'reply') onInput(); });
  document.addEventListener('change', (e) => {
    if (e.target.dataset.testid !== 'attach') return;
    [...e.target.files].forEach(attach);
    e.target.value = '';
  });
  document.addEventListener('paste', (e) => {
    if (e.target.id === 'reply' && e.clipboardData.files.length) { e.preventDefault(); [...e.clipboardData.files].forEach(attach); }
  });
  document.addEventListener('change', (e) => {
    if (e.target.dataset.testid !== 'note-toggle') return;
    stopTyping();
    noteMode();
    drafts.set(shown(), { text: box().value, note: noteBox().checked });
    box().focus();
  });
  /** Enter sends (canned.js handles its keys first, and prevents their default). */
  document.addEventListener('keydown', (e) => {
    if (e.target.id !== 'reply' || e.defaultPrevented || e.isComposing) return;
    if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); sendReply(); }
  });
})();
