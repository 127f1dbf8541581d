/*
 * What the console's scripts share: elements built so that data only ever becomes text, the
 * REST API called with the session's CSRF token, and lists updated in place.
 */
(function () {
  'use strict';

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
    node.append(...children.filter((c) => c != null && c !== false && c !== ''));
    return node;
  }

  const CSRF = ($('meta[name="csrf-token"]') || {}).content || '';

  /** A server message ("only 10.00 USD of this order can be refunded") as a sentence. */
  function sentence(text) {
    const t = String(text || '').trim();
    if (!t) return '';
    return t[0].toUpperCase() + t.slice(1) + (/[.!?]$/.test(t) ? '' : '.');
  }

  /** {ok, status, data, code, message}; never throws (status 0: no answer from the server). */
  async function api(method, path, body, headers = {}) {
    const init = { method, credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json', ...headers } };
    if (method !== 'GET') {
      init.headers['Content-Type'] = 'application/json';
      init.headers['X-CSRF-Token'] = CSRF;
      init.body = JSON.stringify(body || {});
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (e) {
      return { ok: false, status: 0, data: null, code: 'network', message: 'The server could not be reached.' };
    }
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (response.ok) return { ok: true, status: response.status, data, code: null, message: null };
    const error = (data && data.error) || {};
    const message = response.status === 401 ? 'Your session has ended: sign in again.'
      : sentence(error.message) || `The server answered ${response.status}.`;
    return { ok: false, status: response.status, data, code: error.code || 'http', message };
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

  /** Run `load` at most once at a time; calls meanwhile make it run once more afterwards. */
  function coalesced(load) {
    let running = null;
    let again = false;
    return function run() {
      if (running) { again = true; return running; }
      running = (async () => {
        do { again = false; await load(); } while (again);
      })().finally(() => { running = null; });
      return running;
    };
  }

  // ---- unanswered visitors -----------------------------------------------------------------
  // One record for the page, flagged by the server's `unanswered` frame (or, when the page
  // knows the threshold, by the clock); kept for the tab so a reload keeps the flags.
  const FLAGS_KEY = 'chatserver.unanswered';
  const consoleRoot = $('#console');
  const UNANSWERED_AFTER_S = consoleRoot && Number(consoleRoot.dataset.unansweredAfter) > 0
    ? Number(consoleRoot.dataset.unansweredAfter) : null;
  const flags = (() => {
    try {
      const saved = JSON.parse(sessionStorage.getItem(FLAGS_KEY) || '{}');
      const dayAgo = Date.now() - 86400000;
      return new Map(Object.entries(saved).filter(([, since]) => Date.parse(since) > dayAgo)
        .map(([id, since]) => [Number(id), since]));
    } catch (e) { return new Map(); }
  })();

  function flagUnanswered(id, since) {
    flags.set(id, since);
    try {
      const saved = JSON.parse(sessionStorage.getItem(FLAGS_KEY) || '{}');
      saved[id] = since;
      sessionStorage.setItem(FLAGS_KEY, JSON.stringify(saved));
    } catch (e) { /* storage off: the flag lasts as long as the page */ }
  }

  /** A visitor waiting since `since` (null: answered) has waited too long unanswered. */
  function unanswered(id, since) {
    if (!since) return false;
    const flagged = flags.get(id);
    if (flagged && Date.parse(since) <= Date.parse(flagged) + 1000) return true;
    return UNANSWERED_AFTER_S != null && Date.now() - Date.parse(since) >= UNANSWERED_AFTER_S * 1000;
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

  /** The words searched for, as one pattern matching the words that start with one of them
   * (the server's search matches prefixes too). */
  function searchPattern(query) {
    const words = (query.match(/[\p{L}\p{N}_]+/gu) || []).map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    if (!words.length) return null;
    try { return new RegExp(`(?<![\\p{L}\\p{N}_])(?:${words.join('|')})[\\p{L}\\p{N}_]*`, 'giu'); } catch (e) { return null; }
  }

  /** `node` showing `text` with the words of `query` in <mark>: text nodes only, never markup. */
  function fillMarked(node, text, query) {
    const pattern = query ? searchPattern(query) : null;
    node.textContent = pattern ? '' : text;
    if (!pattern) return node;
    let at = 0;
    for (const found of String(text).matchAll(pattern)) {
      if (found.index > at) node.append(text.slice(at, found.index));
      node.append(h('mark', { text: found[0] }));
      at = found.index + found[0].length;
    }
    if (at < text.length) node.append(text.slice(at));
    return node;
  }

  window.ConsoleKit = Object.freeze({ $, h, api, reconcile, sentence, coalesced, flagUnanswered,
    unanswered, fillEmail, fillMarked, CSRF });
})();
