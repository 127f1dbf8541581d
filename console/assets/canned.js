/* Chatserver console: canned responses in the reply box. `/word` (at the start or after a
 * space) lists the responses whose shortcut matches; ↑ ↓ pick, Tab or Enter insert, Escape
 * closes; Tab on an exact `/shortcut` inserts it even before the list shows. The list is read
 * from GET /api/canned, again after a minute. Keys it handles are `preventDefault`ed, so the
 * composer's own keys (Enter sends) leave them alone. The reply box comes and goes with the
 * pane: its events are followed on the document. */
(() => {
  'use strict';

  const MAX_AGE_MS = 60000;
  const SHOWN = 6;
  let box = null; // the reply box of the pane, and its list of suggestions
  let listBox = null;
  const canned = { list: [], at: 0, loading: null, open: false, items: [], index: 0, token: null };

  function load() {
    if (canned.loading) return canned.loading;
    if (canned.at && Date.now() - canned.at < MAX_AGE_MS) return Promise.resolve();
    canned.loading = fetch('/api/canned', { cache: 'no-store' }).then((r) => (r.ok ? r.json() : null)).then((data) => {
      if (!data) return;
      canned.list = (data.canned || []).filter((c) => c && c.shortcut && typeof c.text === 'string');
      canned.at = Date.now();
    }).catch(() => { /* offline: asked again on the next keystroke */ }).finally(() => { canned.loading = null; });
    return canned.loading;
  }

  /** The `/word` right before the caret, or null. */
  function tokenAtCaret() {
    const caret = box.selectionStart;
    if (box.disabled || caret == null || caret !== box.selectionEnd) return null;
    const found = /(^|\s)\/([a-z0-9-]*)$/i.exec(box.value.slice(0, caret));
    if (!found) return null;
    return { start: caret - found[2].length - 1, end: caret, word: found[2].toLowerCase() };
  }

  function matches(word) {
    const starts = canned.list.filter((c) => c.shortcut.startsWith(word));
    const contains = word ? canned.list.filter((c) => !c.shortcut.startsWith(word) && c.shortcut.includes(word)) : [];
    return [...starts, ...contains].slice(0, SHOWN);
  }

  function update() {
    const token = tokenAtCaret();
    if (!token) return close();
    if (!canned.at || Date.now() - canned.at > MAX_AGE_MS) {
      load().then(() => { if (document.activeElement === box) update(); });
    }
    const items = matches(token.word);
    const same = canned.open && canned.items.length === items.length && canned.items.every((c, i) => c === items[i]);
    canned.token = token;
    canned.items = items;
    if (!same) canned.index = 0;
    canned.open = items.length > 0;
    render();
  }

  function close() {
    if (!listBox || (!canned.open && listBox.hidden)) return;
    canned.open = false;
    canned.items = [];
    render();
  }

  function render() {
    listBox.hidden = !canned.open;
    box.setAttribute('aria-expanded', String(canned.open));
    if (!canned.open) { listBox.textContent = ''; box.removeAttribute('aria-activedescendant'); return; }
    listBox.replaceChildren(...canned.items.map((c, i) => {
      const li = document.createElement('li');
      Object.assign(li, { id: `canned-${i}`, className: `canned-item${i === canned.index ? ' active' : ''}` });
      Object.assign(li.dataset, { testid: 'canned-option', shortcut: c.shortcut });
      li.setAttribute('role', 'option');
      li.setAttribute('aria-selected', String(i === canned.index));
      li.onmousedown = (e) => { e.preventDefault(); insert(c); }; // before the box loses focus
      for (const [cls, text] of [['canned-key', `/${c.shortcut}`], ['canned-text', c.text]]) {
        li.append(Object.assign(document.createElement('span'), { className: cls, textContent: text }));
      }
      return li;
    }));
    box.setAttribute('aria-activedescendant', `canned-${canned.index}`);
  }

  function insert(item) {
    const token = canned.token || tokenAtCaret();
    if (!token || !item) return;
    box.value = box.value.slice(0, token.start) + item.text + box.value.slice(token.end);
    const caret = token.start + item.text.length;
    box.setSelectionRange(caret, caret);
    box.focus();
    close();
    box.dispatchEvent(new Event('input', { bubbles: true })); // the draft and typing follow
  }

  function onKeydown(e) {
    if (e.isComposing) return;
    if (!canned.open) {
      const token = e.key === 'Tab' && !e.shiftKey ? tokenAtCaret() : null;
      const exact = token && canned.list.find((c) => c.shortcut === token.word);
      if (exact) { e.preventDefault(); canned.token = token; insert(exact); }
      return;
    }
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      canned.index = (canned.index + (e.key === 'ArrowDown' ? 1 : -1) + canned.items.length) % canned.items.length;
      render();
    } else if ((e.key === 'Tab' || e.key === 'Enter') && !e.shiftKey) {
      insert(canned.items[canned.index]);
    } else if (e.key === 'Escape') {
      close();
    } else {
      return;
    }
    e.preventDefault();
  }

  /** The box's events, whichever pane it is in. */
  function on(type, handler) {
    document.addEventListener(type, (e) => {
      if (e.target.id !== 'reply') return;
      box = e.target;
      listBox = box.form.querySelector('[data-testid="canned-suggestions"]');
      handler(e);
    }, true);
  }
  on('keydown', onKeydown);
  on('input', update);
  on('click', update);
  on('focus', () => load());
  on('blur', () => setTimeout(() => { if (document.activeElement !== box) close(); }, 0));
  load();
})();
