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

  window.ConsoleKit = Object.freeze({ $, h, api, reconcile, sentence, coalesced, CSRF });
})();
