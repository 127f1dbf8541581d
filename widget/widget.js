/*! chatserver chat widget: plain JS, no dependencies, one global (Chatserver). See widget/README.md. */
(() => {
  'use strict';
  // Our instance is marked with a symbol: whatever else the page calls Chatserver is not us.
  const MARK = Symbol.for('chatserver.widget');
  if (window[MARK]) return; // embedded twice: the first copy wins

  // ---- configuration (currentScript is only set during the first run) ----
  const me = document.currentScript ||
    [...document.querySelectorAll('script[src]')].reverse().find(s => /\/widget\.js([?#]|$)/.test(s.src));
  const src = new URL((me && me.src) || location.href, location.href);
  const WS_URL = (src.protocol === 'https:' ? 'wss://' : 'ws://') + src.host + '/ws/visitor';
  const attr = k => ((me && me.getAttribute('data-' + k)) || '').trim();
  const LEFT = attr('position').toLowerCase() === 'left';
  const DEF = {color: '#4f46e5', title: 'Chat with us', greeting: '', prechat: 'off',
    offline_message: "We're away right now. Leave a message and we'll answer here."};
  // A data attribute wins, then the admin's setting (welcome or /api/widget-settings), then DEF.
  const opt = k => attr(k) || (cfg && typeof cfg[k] === 'string' ? cfg[k] : DEF[k] || '');
  const settings = window.chatserverSettings || {};
  const MAX_TEXT = 4000, KEEP = 200; // server text limit; messages kept
  const REASONS = {rate_limited: 'too many messages, wait a moment', too_large: 'longer than ' + MAX_TEXT + ' characters',
    bad_request: 'the server refused it', forbidden: 'not allowed'};

  // ---- storage: namespaced by server origin; in memory when localStorage is blocked ----
  const NS = 'chatserver:' + src.origin + ':';
  const mem = {};
  const parse = s => { try { return JSON.parse(s); } catch (e) { return null; } };
  // The page's toJSON methods (Prototype.js's Array.prototype.toJSON) must not change our data:
  // the replacer returns each value as it was before toJSON ran.
  const json = v => JSON.stringify(v, function (k) { return this[k]; });
  const store = {
    get(k, d) {
      let s = mem[k];
      if (s === undefined) try { s = localStorage.getItem(NS + k); } catch (e) { /* blocked */ }
      const v = s == null ? null : parse(s);
      return v == null ? d : v;
    },
    set(k, v) {
      const s = json(v);
      try { localStorage.setItem(NS + k, s); delete mem[k]; } catch (e) { mem[k] = s; }
    },
    del(k) { delete mem[k]; try { localStorage.removeItem(NS + k); } catch (e) { /* blocked */ } },
    keys(prefix) { // our keys starting with prefix, without the namespace
      const r = new Set(Object.keys(mem).filter(k => k.startsWith(prefix)));
      try {
        for (let i = 0; i < localStorage.length; i++) {
          const k = localStorage.key(i);
          if (k.startsWith(NS + prefix)) r.add(k.slice(NS.length));
        }
      } catch (e) { /* blocked */ }
      return [...r];
    },
  };

  // ---- state ----
  const ok = m => m && typeof m === 'object' && m.conversation_id != null && Number.isInteger(m.seq) &&
    typeof m.text === 'string';
  const saved = store.get('chat', {});
  let token = store.get('token', null);
  if (typeof token !== 'string') token = null;
  let convId = saved.conversation_id ?? null; // the current conversation
  let top = +saved.last_seq || 0;             // every seq <= top of convId is held here
  let log = Array.isArray(saved.messages) ? saved.messages.filter(ok) : []; // confirmed, in display order
  let profile = store.get('profile', {});     // {name, email, done} from the forms
  let rated = store.get('rated', null);       // {conv, score, locked: sent with "Send feedback"}
  let identity = settings.identity || null;
  let cfg = store.get('cfg', null);           // the admin's widget settings, last seen; .mail: email works
  let mailWait = false, mailConv;             // transcript email: awaiting the answer; form filled for
  let conv = saved.conv || null, online = null; // status of convId; agents online
  let agentRead = +saved.agent_read || 0, myRead = +saved.read || 0; // a reload renders at once
  let sentRead = myRead, picked = 0, unread = -1, gapAt = -1, rateQ = null, final = false;
  let ws = null, live = false, want = false, tries = 0, retryT = 0, pingT = 0, pongT = 0;
  let refusals = 0, resendT = 0, held = false; // storage refused a message: the outbox again, one by one
  let isOpen = false, typingOn = false, typingAt = 0, typingT = 0, agentTypingT = 0;
  const outbox = new Map(); // client_id -> {client_id, text, t}: not acknowledged yet
  for (const k of store.keys('out:')) {
    const it = store.get(k, null);
    if (it && it.client_id && typeof it.text === 'string') outbox.set(it.client_id, it);
  }
  const have = new Map();   // "conv:seq" -> element of a confirmed message
  const pend = new Map();   // client_id -> element of a pending or failed message
  const convs = [];         // conversation ids in display order
  const handlers = {};

  const emit = (ev, arg) => (handlers[ev] || []).forEach(fn => {
    try { fn(arg); } catch (e) { setTimeout(() => { throw e; }); }
  });
  const rank = id => { let i = convs.indexOf(id); if (i < 0) i = convs.push(id) - 1; return i; };
  const cmp = (a, b) => rank(a.conversation_id) - rank(b.conversation_id) || a.seq - b.seq;
  const roleOf = m => { const r = m.author && m.author.role; return r === 'visitor' || r === 'agent' ? r : 'system'; };
  const visible = () => document.visibilityState !== 'hidden';
  const uuid = () => (crypto.randomUUID ? crypto.randomUUID()
    : [...crypto.getRandomValues(new Uint8Array(16))].map(b => b.toString(16).padStart(2, '0')).join(''));

  // ---- DOM: message content only ever goes into text nodes ----
  // Live regions are read out on every write: write only a change.
  const setText = (el, t) => { if (el.textContent !== t) el.textContent = t; };
  const h = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  };
  const when = at => {
    const d = new Date(at);
    return isNaN(d) ? '' : d.toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'});
  };
  const anchor = (u, t) => { // opens apart from the page, which it cannot reach
    const a = h('a', '', t);
    a.href = u; a.target = '_blank'; a.rel = 'noopener noreferrer';
    return a;
  };
  function linkify(el, text) { // http(s) links become anchors; the rest stays text
    let last = 0;
    text.replace(/\bhttps?:\/\/[^\s<>"'`]+/gi, (u, i) => {
      while (/[.,;:!?'\])]$/.test(u) && !(u.endsWith(')') && u.includes('('))) u = u.slice(0, -1);
      el.append(text.slice(last, i), anchor(u, u));
      last = i + u.length;
    });
    el.append(text.slice(last));
    return el;
  }

  // ---- the host element and its shadow root ----
  const CSS_TEXT = `
:host{all:initial}
*{box-sizing:border-box}
[hidden]{display:none!important}
.cs-root{all:initial;display:block;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#111827}
button,input,textarea{font:inherit;color:inherit;margin:0}
button{cursor:pointer}
:focus-visible{outline:2px solid var(--c);outline-offset:2px}
.cs-launcher{position:fixed;bottom:20px;right:20px;width:56px;height:56px;border:0;border-radius:50%;padding:0;background:var(--c);color:#fff;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center}
.cs-launcher:focus-visible{outline-color:#111827}
.cs-header :focus-visible{outline-color:#fff;box-shadow:0 0 0 4px #111827}
.cs-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
.cs-left .cs-launcher,.cs-left .cs-panel{right:auto;left:20px}
svg{width:26px;height:26px;fill:currentColor}
.cs-open .cs-i-chat,.cs-i-x{display:none}.cs-open .cs-i-x{display:block}
.cs-badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;padding:0 6px;border-radius:10px;background:#dc2626;color:#fff;font-size:12px;font-weight:700;line-height:20px;text-align:center}
.cs-panel{position:fixed;bottom:88px;right:20px;width:370px;height:600px;max-height:calc(100vh - 108px);display:flex;flex-direction:column;background:#fff;border-radius:14px;box-shadow:0 10px 40px rgba(0,0,0,.25);overflow:hidden}
.cs-header{display:flex;align-items:flex-start;gap:8px;padding:14px 16px;background:var(--c);color:#fff}
.cs-header>div{flex:1;min-width:0}
.cs-title{margin:0;font-size:16px;font-weight:600}
.cs-status{font-size:12.5px}.cs-agent{font-weight:600}
.cs-close,.cs-end,.cs-clip{background:none;border:0;color:inherit;padding:2px 6px;border-radius:6px}
.cs-close{font-size:22px;line-height:1}.cs-end{font-size:12px;text-decoration:underline}
.cs-conn{padding:4px 16px;background:#fef3c7;color:#92400e;font-size:12px}
.cs-messages{flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:8px;background:#f9fafb}
.cs-msg,.cs-greeting{display:flex;flex-direction:column;align-items:flex-start;max-width:82%;align-self:flex-start}
.cs-msg-visitor{align-self:flex-end;align-items:flex-end}
.cs-text{padding:8px 12px;border-radius:14px;background:#fff;border:1px solid #e5e7eb;white-space:pre-wrap;overflow-wrap:anywhere}
.cs-msg-visitor .cs-text{background:var(--c);color:#fff;border-color:transparent}
.cs-msg-system{align-self:center;align-items:center;max-width:92%;text-align:center}
.cs-msg-system .cs-text{background:none;border:0;padding:0;color:#6b7280;font-size:12px}
.cs-author,.cs-meta,.cs-seen{margin:2px 6px 0;font-size:11px;color:#6b7280}
.cs-msg[data-state=failed] .cs-text{background:#fee2e2;color:#7f1d1d}
.cs-msg[data-state=failed] .cs-meta{color:#b91c1c}
.cs-retry,.cs-link{background:none;border:0;padding:0;color:var(--c);text-decoration:underline;font-size:inherit}
a{color:inherit;text-decoration:underline}
.cs-typing{padding:2px 16px 4px;font-size:12px;color:#6b7280;font-style:italic}
.cs-notice,.cs-rating,.cs-prechat{display:flex;flex-direction:column;gap:8px;padding:12px 16px;border-top:1px solid #e5e7eb;font-size:13px}
p{margin:0}
.cs-notice-text{white-space:pre-line}
.cs-mail{flex-wrap:wrap}.cs-mail input{flex:1 1 100%}
label{display:flex;flex-direction:column;gap:2px;font-size:12px;color:#374151}
input,textarea{width:100%;border:1px solid #d1d5db;border-radius:8px;padding:8px 10px;background:#fff;resize:none}
.cs-row{display:flex;gap:8px;align-items:center}
.cs-btn,.cs-send{flex:none;border:0;border-radius:8px;padding:8px 14px;background:var(--c);color:#fff;font-weight:600}
.cs-star{background:none;border:0;padding:0 2px;font-size:26px;line-height:1;color:#6b7280}
.cs-star.cs-on{color:#b45309}
.cs-composer{display:flex;gap:8px;align-items:flex-end;padding:10px 12px;border-top:1px solid #e5e7eb}
.cs-input{flex:1;min-height:38px;max-height:120px}
.cs-send{padding:6px 10px}
img{display:block;max-width:100%}
.cs-send svg,.cs-clip svg{width:20px;height:20px}
@media (max-width:480px){.cs-panel,.cs-left .cs-panel{inset:0;width:auto;height:auto;max-height:none;border-radius:0}.cs-open .cs-launcher{display:none}}`;
  const CHAT = 'M6 3h12a3 3 0 0 1 3 3v9a3 3 0 0 1-3 3h-7l-5 4v-4H6a3 3 0 0 1-3-3V6a3 3 0 0 1 3-3z';
  const X = 'M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6l5.6-5.6L5 6.4z';
  const host = document.createElement('chatserver-widget');
  // Page rules, even `* {display:none !important}`, lose to inline !important.
  const HOST_STYLE = {display: 'block', position: 'fixed', top: 'auto', left: 'auto', right: '0', bottom: '0',
    width: '0', height: '0', margin: '0', padding: '0', border: '0', 'z-index': '2147483647', transform: 'none',
    filter: 'none', 'backdrop-filter': 'none', perspective: 'none', contain: 'none', 'container-type': 'normal',
    'clip-path': 'none', opacity: '1', visibility: 'visible', overflow: 'visible', 'pointer-events': 'auto',
    'will-change': 'auto', zoom: '1'};
  for (const k in HOST_STYLE) host.style.setProperty(k, HOST_STYLE[k], 'important');
  const shadow = host.attachShadow({mode: 'open'});
  // A constructed stylesheet: a page's CSP without 'unsafe-inline' blocks a <style> element.
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS_TEXT);
    shadow.adoptedStyleSheets = [sheet];
  } catch (e) { shadow.append(h('style', '', CSS_TEXT)); } // browsers before 2023
  // Pages enforcing Trusted Types refuse innerHTML: the skeleton is built with createElement.
  function build(html, parent) { // our static markup only: tags, "quoted" attributes, text
    const stack = [parent];
    html.replace(/<(\/?)([\w-]+)([^>]*)>|([^<]+)/g, (_, end, tag, attrs, text) => {
      if (text) return void stack[0].append(text);
      if (end) return void stack.shift();
      const e = /^(svg|path)$/.test(tag) ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
      attrs.replace(/([\w-]+)(?:="([^"]*)")?/g, (_, k, v) => e.setAttribute(k, v || ''));
      stack[0].append(e);
      if (tag !== 'input' && !attrs.endsWith('/')) stack.unshift(e); // void or self-closed: no children
    });
  }
  // Static skeleton only: nothing dynamic is ever interpolated here.
  build(`<div class="cs-root" dir="ltr" data-testid="chatserver-root"><div class="cs-sr" aria-live="polite" data-testid="announce"></div>
<button class="cs-launcher" type="button" aria-expanded="false" aria-controls="cs-panel" data-testid="launcher"><svg class="cs-i-chat" viewBox="0 0 24 24" aria-hidden="true"><path d="${CHAT}"/></svg><svg class="cs-i-x" viewBox="0 0 24 24" aria-hidden="true"><path d="${X}"/></svg><span class="cs-badge" data-testid="badge" aria-hidden="true" hidden></span></button>
<section class="cs-panel" id="cs-panel" role="dialog" aria-labelledby="cs-title" data-testid="panel" hidden>
<header class="cs-header"><div><h2 class="cs-title" id="cs-title"></h2><p class="cs-status" data-testid="status" aria-live="polite" aria-atomic="true"><span class="cs-agent" data-testid="agent"></span><span class="cs-state"></span></p></div><button class="cs-end" type="button" hidden>End chat</button><button class="cs-close" type="button" aria-label="Close chat">×</button></header>
<div class="cs-conn" role="status" data-testid="connection" hidden></div>
<div class="cs-messages" role="log" aria-live="polite" aria-label="Messages" tabindex="0" data-testid="messages"></div>
<div class="cs-typing" aria-live="polite" data-testid="typing" hidden></div>
<div class="cs-notice" data-testid="offline" hidden><p class="cs-notice-text"></p><form class="cs-row cs-offline"><input class="cs-email" type="email" required autocomplete="email" placeholder="you@example.com" aria-label="Your email"><button class="cs-btn" type="submit">Send</button></form></div>
<div class="cs-rating" data-testid="rating" hidden><p>This chat has ended. How did we do?</p><div class="cs-row cs-stars" role="group" aria-label="Rate this chat"></div><textarea class="cs-comment" rows="2" maxlength="2000" placeholder="How could we do better?" aria-label="How could we do better?"></textarea><div class="cs-row"><button class="cs-btn cs-rate-send" type="button">Send feedback</button><span class="cs-thanks" role="status" hidden>Thanks for your feedback!</span><button class="cs-link cs-rate-edit" type="button" hidden>Change</button></div><form class="cs-row cs-mail"><input class="cs-mail-to" type="email" required autocomplete="email" placeholder="you@example.com" aria-label="Email for the transcript"><button class="cs-btn" type="submit">Email me the transcript</button></form><p class="cs-mailed" role="status" data-testid="mailed" hidden></p><button class="cs-link cs-dl" type="button">Download transcript</button><button class="cs-link cs-new" type="button">Start a new chat</button></div>
<form class="cs-prechat" data-testid="prechat" hidden><p>Before we start, tell us who you are.</p><label>Name<input class="cs-pc-name" name="name" autocomplete="name" maxlength="200"></label><label>Email<input class="cs-pc-email" name="email" type="email" autocomplete="email" maxlength="320"></label><div class="cs-row"><button class="cs-btn" type="submit">Start chat</button><button class="cs-link cs-skip" type="button">Skip</button></div></form>
<form class="cs-composer"><button class="cs-clip" type="button" aria-label="Attach a file"><svg viewBox="0 0 24 24" aria-hidden="true"><path d="M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6z"/></svg></button><input class="cs-file" type="file" hidden><textarea class="cs-input" rows="1" placeholder="Type your message…" aria-label="Type your message" data-testid="input"></textarea><button class="cs-send" type="submit" aria-label="Send message" data-testid="send"><svg viewBox="0 0 24 24" aria-hidden="true"><path d="M3 20.5 21 12 3 3.5v6.8l12 1.7-12 1.7z"/></svg></button></form>
</section></div>`, shadow);
  const $ = s => shadow.querySelector(s);
  const root = $('.cs-root'), launcher = $('.cs-launcher'), badge = $('.cs-badge'), panel = $('.cs-panel');
  const list = $('.cs-messages'), input = $('.cs-input'), typingEl = $('.cs-typing');
  const notice = $('.cs-notice'), rating = $('.cs-rating'), prechat = $('.cs-prechat'), composer = $('.cs-composer');
  const announce = $('.cs-sr'), comment = $('.cs-comment'), seenEl = h('div', 'cs-seen', 'Seen');
  const mailTo = $('.cs-mail-to'), mailed = $('.cs-mailed'), pcName = $('.cs-pc-name');
  if (LEFT) root.classList.add('cs-left');
  const greetEl = list.appendChild(h('div', 'cs-greeting')), greetText = greetEl.appendChild(h('div', 'cs-text'));
  greetText.dir = 'auto';
  let look = '';
  function applyLook() { // colour, title, greeting, pre-chat mode
    const c = opt('color'), g = opt('greeting'), req = mode() === 'required';
    if (look === (look = [c, g, opt('title'), req].join('\n'))) return;
    root.style.setProperty('--c', window.CSS && CSS.supports('color', c) ? c : DEF.color);
    $('.cs-title').textContent = opt('title');
    greetText.textContent = '';
    linkify(greetText, g);
    greetEl.hidden = !g;
    prechat.querySelectorAll('input').forEach(i => { i.required = req; });
    $('.cs-skip').hidden = req;
  }
  const mode = () => opt('prechat').toLowerCase(); // off | optional | required
  const stars = [1, 2, 3, 4, 5].map(n => {
    const b = h('button', 'cs-star', '★');
    b.type = 'button';
    b.setAttribute('aria-label', `Rate ${n} out of 5`);
    b.onclick = () => rate(n);
    $('.cs-stars').append(b);
    return b;
  });

  // ---- messages in the list ----
  function msgEl(m, state) {
    const role = roleOf(m), el = h('div', 'cs-msg cs-msg-' + role), text = h('div', 'cs-text');
    el.dataset.role = role;
    if (m.client_id) el.dataset.clientId = m.client_id;
    if (role === 'agent' && m.author.name) el.append(h('div', 'cs-author', String(m.author.name)));
    text.dir = 'auto'; // each message in its own script's direction
    el.append(linkify(text, m.text), h('div', 'cs-meta'));
    const a = m.attachment;
    if (a && a.url) { // an image as the server's thumbnail; other files by name, type and size
      const u = src.origin + a.url, img = a.content_type.startsWith('image/');
      const l = text.appendChild(anchor(u, img ? null : `${a.name} (${a.content_type}, ${Math.ceil(a.size / 1024)} KB)`));
      if (img) { const i = l.appendChild(h('img')); i.src = u + '&thumbnail=1'; i.alt = a.name; }
    }
    return stamp(el, m, state);
  }
  function stamp(el, m, state) { // a pending bubble is stamped again once sent, not replaced
    el.dataset.state = state;
    if (m.seq != null) el.dataset.seq = m.seq;
    el.querySelector('.cs-meta').textContent = state === 'pending' ? 'Sending…' : when(m.at);
    if (when(m.at)) el.title = new Date(m.at).toLocaleString();
    el.msg = m;
    return el;
  }
  function place(el, m) { // confirmed ones in (conversation, seq) order, before pending ones
    let before = null;
    for (const c of list.children) {
      if (c.dataset.state === 'pending' || (c.dataset.state === 'sent' && cmp(m, c.msg) < 0)) { before = c; break; }
    }
    // Moving a bubble that is in place already would announce it again.
    if (el.parentNode !== list || el.nextSibling !== before) keepScroll(() => list.insertBefore(el, before));
  }
  function keepScroll(fn, force) { // follow new messages if the reader is at the bottom
    const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 60;
    fn();
    if (atEnd || force) list.scrollTop = list.scrollHeight;
  }

  function addMsg(m) {
    if (!ok(m)) return;
    follow(m.conversation_id);
    const mine = m.client_id && settle(m.client_id);
    if (mine) stored();
    const k = m.conversation_id + ':' + m.seq, old = have.get(k);
    if (old) { // shown from our ack, or sent again with a fresh link to its file: adopt the server's copy
      if (mine) mine.remove();
      if (old.msg.local) { Object.assign(old.msg, m); delete old.msg.local; old.querySelector('.cs-meta').textContent = when(m.at); changed(); }
      const a = m.attachment, l = old.querySelector('.cs-text').lastChild; // the file's link, last (msgEl)
      if (a && a.url !== old.msg.attachment?.url) { old.msg.attachment = a; l.href = src.origin + a.url; if (l.firstChild?.src) l.firstChild.src = l.href + '&thumbnail=1'; changed(); }
      return;
    }
    let i = log.length;
    while (i && cmp(log[i - 1], m) > 0) i--;
    log.splice(i, 0, m);
    const el = mine ? stamp(mine, m, 'sent') : msgEl(m, 'sent');
    have.set(k, el);
    place(el, m);
    if (m.conversation_id === convId) advance(m.seq);
    if (roleOf(m) === 'agent') {
      showTyping(null);
      // The panel's log is not read out while it is closed: a region outside it says it.
      if (!isOpen && m.conversation_id === convId && m.seq > myRead) setText(announce, `${m.author.name || 'Agent'}: ${m.text}`);
    }
    emit('message', m);
    markRead();
  }
  function advance(seq) { // the contiguous top; a hole means missed frames: ask again
    if (seq === top + 1) while (have.has(convId + ':' + (top + 1))) top++;
    else if (seq > top + 1 && gapAt !== top) { gapAt = top; reconnect(); }
  }
  function settle(cid) { // ours is confirmed (or abandoned): out of the outbox; returns its bubble
    if (outbox.delete(cid)) store.del('out:' + cid);
    const el = pend.get(cid);
    pend.delete(cid);
    return el;
  }
  function stored() { // one of ours is in (by its ack, or its message frame came first)
    refusals = 0;
    if (held) { held = outbox.size > 0; resend(); } // the next one's turn
  }
  function showPending(it) {
    const el = msgEl({client_id: it.client_id, text: it.file ? it.file.name : it.text,
      attachment: it.att, author: {role: 'visitor'}}, 'pending'), old = pend.get(it.client_id);
    pend.set(it.client_id, el);
    keepScroll(() => (old ? old.replaceWith(el) : list.append(el)), true);
    return el;
  }
  function fail(cid, code, why, up) { // up: a file whose upload failed
    const it = outbox.get(cid) || up, el = pend.get(cid);
    if (outbox.delete(cid)) store.del('out:' + cid);
    if (!el) return;
    el.dataset.state = 'failed';
    const meta = el.querySelector('.cs-meta');
    meta.textContent = 'Not sent: ' + (why || REASONS[code] || 'error') + ' ';
    if (it && code !== 'too_large') {
      const b = h('button', 'cs-retry', 'Retry');
      b.type = 'button';
      // Again under its client_id (the server posts it once); a file is uploaded again only if that failed.
      b.onclick = () => (up ? upload(it) : out(it));
      meta.append(b);
    }
  }
  // ---- files: uploaded first (progress in the bubble), then sent as a message with attachment_id ----
  function upload(it) {
    const x = new XMLHttpRequest(), f = new FormData(), meta = showPending(it).lastChild;
    if (!token) return fail(it.client_id, 0, 'not connected yet', it); // the panel, open, connects
    f.append('file', it.file);
    x.open('POST', src.origin + '/api/attachments');
    x.setRequestHeader('X-Visitor-Token', token);
    x.upload.onprogress = e => { meta.textContent = `Uploading ${e.loaded * 100 / e.total | 0}%`; };
    x.onloadend = () => {
      const r = parse(x.responseText) || {};
      if (x.status !== 201) return fail(it.client_id, 0, r.error?.message || 'the upload failed', it); // 413, 415, 429: the server says why
      it.att = r.attachment;
      delete it.file;
      out(it);
    };
    x.send(f);
  }
  function out(it) { // to the durable outbox first, then to the socket
    showPending(it);
    outbox.set(it.client_id, it);
    store.set('out:' + it.client_id, it);
    if (!live) connect();
    else if (!held || outbox.size < 2) sendMsg(it); // else it waits its turn
  }
  const attach = fs => [...fs || []].forEach(file => upload({client_id: uuid(), text: '', t: Date.now(), file}));
  function queue(text) { // to the durable outbox first, then to the socket
    const it = {client_id: uuid(), text, t: Date.now()};
    if ([...text].length > MAX_TEXT) return showPending(it), fail(it.client_id, 'too_large'); // in code points, as the server counts
    out(it);
  }

  // ---- which conversation is current ----
  function follow(id, status) {
    // An unseen id is a new conversation (we wrote while none was open), unless ours is still
    // open and this is not an opening status.
    if (id == null || id === convId || convs.includes(id)) return;
    if (conv && conv.status !== 'closed' && (!status || status === 'closed')) return;
    setConv(id);
  }
  function setConv(id) {
    convId = id; conv = null; top = 0; agentRead = myRead = sentRead = picked = 0; gapAt = -1;
    showTyping(null);
  }
  function resetLog(id) { // the server's conversation is not ours: start over
    for (const el of have.values()) el.remove();
    have.clear(); log = []; convs.length = 0;
    setConv(id);
  }
  function setStatus(c) {
    conv = {id: c.id, status: c.status, agent: c.agent || null, queue_position: c.queue_position ?? null,
      expected_wait_seconds: c.expected_wait_seconds ?? null};
    if (c.status === 'closed') stopTyping();
  }
  const statusInfo = () => ({conversation_id: convId, status: conv ? conv.status : null, agent: conv && conv.agent,
    queue_position: conv && conv.queue_position, expected_wait_seconds: conv && conv.expected_wait_seconds,
    agents_online: online});

  // ---- frames from the server: one handler per type ----
  const FRAMES = {
    welcome(f) {
      clearTimeout(pongT); pongT = 0;
      live = true; tries = 0;
      if (f.token && f.token !== token) {
        // Two new tabs raced to create a visitor: the first token stored wins.
        const other = store.get('token', null);
        if (!token && typeof other === 'string' && other !== f.token) { token = other; return reconnect(); }
        token = f.token;
        store.set('token', token);
      }
      online = f.agents_online ?? online;
      setCfg(f);
      const c = f.conversation || null;
      if (!c || c.id !== convId) resetLog(c ? c.id : null);
      if (c) {
        setStatus(c);
        agentRead = Math.max(agentRead, c.agent_read_seq || 0);
        myRead = Math.max(myRead, c.visitor_read_seq || 0);
        sentRead = Math.max(sentRead, c.visitor_read_seq || 0);
      }
      (f.messages || []).forEach(m => addMsg(m));
      resend();
      if (rateQ && send(rateQ)) rateQ = null;
      clearInterval(pingT);
      pingT = setInterval(ping, 25000);
      markRead();
      changed();
      emit('status', statusInfo());
    },
    ack(f) {
      const it = outbox.get(f.client_id);
      if (it && ok({...f, text: ''})) {
        addMsg({conversation_id: f.conversation_id, seq: f.seq, client_id: f.client_id, text: it.text, attachment: it.att,
          author: {role: 'visitor', name: profile.name || null}, at: new Date().toISOString(), local: true});
      } else settle(f.client_id)?.remove();
    },
    message(f) { addMsg(f.message || f); },
    status(f) {
      online = f.agents_online ?? online;
      follow(f.conversation_id, f.status);
      if (f.conversation_id === convId) setStatus({...f, id: f.conversation_id});
      changed();
      emit('status', statusInfo());
    },
    typing(f) {
      if (f.role === 'agent' && !f.private && f.conversation_id === convId) showTyping(f.active ? f.name || 'Agent' : null);
    },
    read(f) {
      if (f.conversation_id !== convId || !Number.isInteger(f.seq)) return;
      if (f.role === 'visitor') myRead = Math.max(myRead, f.seq); // read in another tab
      else agentRead = Math.max(agentRead, f.seq);
      changed();
    },
    rated(f) {
      rated = {conv: f.conversation_id, score: f.score, locked: final};
      store.set('rated', rated);
      const inside = rating.contains(shadow.activeElement);
      render();
      if (inside && final) $('.cs-rate-edit').focus(); // the focused control is locked now
    },
    error(f) {
      if (f.client_id && pend.has(f.client_id) && REASONS[f.code]) return fail(f.client_id, f.code);
      if (f.code === 'unavailable' && outbox.has(f.client_id)) { held = true; return resendLater(); } // storage full or busy
      if (f.code === 'invalid_identity') identity = null; // don't resend a bad hash
      if (mailWait && !f.client_id && /^(unavailable|bad_request|not_found)$/.test(f.code)) {
        return mailDone("Couldn't email the transcript: " + (f.message || f.code));
      }
      console.warn('[chatserver]', f.code, f.message);
    },
    pong() { clearTimeout(pongT); pongT = 0; },
    emailed(f) { mailDone('Transcript sent to ' + f.email + '.'); },
  };
  function setCfg(f) { // from welcome or /api/widget-settings
    const w = f && f.widget;
    if (w && typeof w === 'object') { cfg = {...w, mail: f.email_enabled === true}; store.set('cfg', cfg); changed(); }
  }
  function mailDone(text) {
    mailWait = false;
    mailed.textContent = text;
    mailed.hidden = false;
  }

  // ---- the socket: backoff, ping ----
  function send(f) {
    if (!ws || ws.readyState !== 1) return false;
    ws.send(json(f));
    return true;
  }
  const sendMsg = it => send({type: 'message', client_id: it.client_id, text: it.text, attachment_id: it.att?.id});
  function hello() {
    const f = {type: 'hello', token: token || null, page: location.href.split('#')[0].slice(0, 2000),
      timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || null};
    if (convId != null) { // a file's link lasts an hour: from the first message with one, the welcome brings fresh ones
      const file = log.find(m => m.conversation_id === convId && m.attachment);
      f.conversation_id = convId; f.last_seq = file ? Math.min(top, file.seq - 1) : top;
    }
    const name = profile.name || settings.name, email = profile.email || settings.email;
    if (name) f.name = String(name).slice(0, 200);
    if (email) f.email = String(email).slice(0, 320);
    if (identity) f.identity = identity;
    return f;
  }
  function connect() {
    want = true;
    clearTimeout(retryT);
    if (ws) return;
    let s;
    try { s = ws = new WebSocket(WS_URL); } catch (e) { ws = null; return retry(); }
    s.onopen = () => { send(hello()); pongT = setTimeout(dead, 15000); }; // no welcome: retry
    s.onmessage = e => {
      const f = parse(e.data);
      if (f && FRAMES.hasOwnProperty(f.type)) FRAMES[f.type](f);
    };
    s.onclose = () => { if (ws === s) { drop(); changed(); retry(); } };
  }
  function drop() { // close and forget the socket, without its onclose
    const s = ws;
    ws = null; live = false;
    clearInterval(pingT); clearTimeout(pongT); pingT = pongT = 0;
    if (s) { s.onclose = s.onmessage = s.onopen = null; try { s.close(); } catch (e) { /* already closed */ } }
  }
  const backoff = n => { // 0.5 s doubling to 15 s, jittered
    const d = Math.min(15000, 500 * 2 ** Math.min(n, 5));
    return d / 2 + Math.random() * d / 2;
  };
  function retry() {
    clearTimeout(retryT);
    retryT = setTimeout(connect, backoff(tries++));
  }
  // The unacknowledged again, oldest first, same client_id: the server stores each once.
  // After storage refused one, only the oldest goes, the next once it is acked: none overtakes it.
  function resend() {
    clearTimeout(resendT); resendT = 0;
    const all = [...outbox.values()].sort((a, b) => a.t - b.t);
    (held ? all.slice(0, 1) : all).forEach(sendMsg);
  }
  function resendLater() { // one timer for every refusal; not live: the next welcome resends
    if (!resendT) resendT = setTimeout(() => { resendT = 0; if (live) resend(); }, backoff(refusals++));
  }
  function dead() { drop(); changed(); retry(); }
  function reconnect() { drop(); tries = 0; connect(); }
  function ping() {
    if (!live || pongT) return;
    send({type: 'ping'});
    pongT = setTimeout(dead, 10000);
  }

  // ---- typing, reading, rating ----
  const convOpen = () => conv && (conv.status === 'queued' || conv.status === 'active');
  function onType() {
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight + 2, 120) + 'px';
    if (!input.value.trim()) return stopTyping();
    if (!live || !convOpen()) return;
    if (!typingOn || Date.now() - typingAt > 2500) { typingOn = true; typingAt = Date.now(); send({type: 'typing', active: true}); }
    clearTimeout(typingT);
    typingT = setTimeout(stopTyping, 3000);
  }
  function stopTyping() {
    clearTimeout(typingT);
    if (typingOn) { typingOn = false; send({type: 'typing', active: false}); }
  }
  function showTyping(name) {
    clearTimeout(agentTypingT);
    setText(typingEl, name ? name + ' is typing…' : '');
    typingEl.hidden = !name;
    if (name) agentTypingT = setTimeout(() => showTyping(null), 20000); // active:false may be lost
  }
  function markRead() {
    if (!isOpen || !visible() || convId == null) return changed();
    for (const m of log) if (m.conversation_id === convId && m.seq > myRead) myRead = m.seq;
    if (live && myRead > sentRead) { sentRead = myRead; send({type: 'read', seq: myRead}); }
    changed();
  }
  function rate(n) {
    picked = n || picked;
    if (!picked) return stars[4].focus();
    final = !n; // "Send feedback", not a star
    const text = comment.value.trim();
    rateQ = {type: 'rate', score: picked, ...(text ? {comment: text} : {})};
    if (send(rateQ)) rateQ = null; else connect(); // else sent after welcome
    changed();
  }

  // ---- render the parts that derive from state ----
  let dirty = false;
  function changed() { // many frames in one task: render and save once
    if (dirty) return;
    dirty = true;
    queueMicrotask(() => { dirty = false; save(); render(); });
  }
  function save() {
    store.set('chat', {conversation_id: convId, last_seq: top, conv, read: myRead, agent_read: agentRead,
      messages: log.slice(-KEEP)});
  }
  function statusText() {
    const st = conv && conv.status;
    if (st === 'closed') return 'This chat has ended';
    if (st === 'active') return conv.agent && conv.agent.name ? 'is here to help' : 'An agent is here to help';
    if (st === 'queued' && online !== 0) { // nobody online: no place in a queue that is not moving
      const n = conv.queue_position, w = conv.expected_wait_seconds;
      return (n ? `You are number ${n} in the queue` : 'Waiting for an agent') + (w == null ? '' :
        '. Expected wait: ' + (w < 60 ? 'under a minute' : `about ${Math.round(w / 60)} min`));
    }
    return online === 0 ? "We're away right now" : online > 0 ? "We're online" : '';
  }
  function render() {
    const st = conv && conv.status;
    // One line, "Dana is here to help": the name and the rest of the sentence.
    const who = (st === 'active' && conv.agent && conv.agent.name) || '';
    setText($('.cs-agent'), who);
    setText($('.cs-state'), (who && ' ') + statusText());
    applyLook();
    const conn = $('.cs-conn');
    conn.hidden = !(isOpen && want && !live && tries > 0);
    setText(conn, navigator.onLine === false ? "You're offline. Messages will be sent when you're back."
      : tries > 2 ? "Can't connect to the chat right now. Retrying…" : 'Connecting…');
    $('.cs-end').hidden = !convOpen() || !live;
    // Nobody online: offer to reply by email (sent as hello.email), if the server sends email.
    const email = profile.email || settings.email || (identity && identity.email), mail = !!(cfg && cfg.mail);
    notice.hidden = !(online === 0 && st !== 'active');
    $('.cs-notice-text').textContent = [opt('offline_message'), opt('reply_time'), opt('business_hours'),
      mail && email && `We'll answer at ${email}.`].filter(Boolean).join('\n');
    rating.hidden = st !== 'closed';
    if (st === 'closed' && mailConv !== convId) { // prefill once per conversation
      mailConv = convId; mailTo.value = email || ''; mailed.hidden = true;
    }
    // Once "Send feedback" went through, the rating is shown, not editable, until "Change".
    const done = rated && rated.conv === convId, score = picked || (done ? rated.score : 0), lock = done && rated.locked;
    stars.forEach((b, i) => {
      b.classList.toggle('cs-on', i < score); b.setAttribute('aria-pressed', String(i + 1 === score)); b.disabled = lock;
    });
    comment.disabled = $('.cs-rate-send').hidden = lock;
    $('.cs-thanks').hidden = !done;
    $('.cs-rate-edit').hidden = !lock;
    prechat.hidden = !(mode() !== 'off' && !profile.done && !identity && convId == null && !log.length && !outbox.size);
    composer.hidden = !prechat.hidden;
    if (!prechat.hidden && shadow.activeElement === input) pcName.focus(); // the form arrived late
    $('.cs-offline').hidden = !mail || !!email || !prechat.hidden; // the pre-chat form asks already
    $('.cs-mail').hidden = !mail;
    // "Seen" under the visitor's last message once the agent read it.
    let last = null;
    for (const m of log) if (m.conversation_id === convId && roleOf(m) === 'visitor') last = m;
    const lastEl = last && agentRead >= last.seq && have.get(last.conversation_id + ':' + last.seq);
    if (!lastEl) seenEl.remove(); else if (seenEl.parentNode !== lastEl) lastEl.append(seenEl);
    // Unread: agent and system messages after the visitor's read mark.
    const n = log.filter(m => m.conversation_id === convId && roleOf(m) !== 'visitor' && m.seq > myRead).length;
    badge.textContent = n > 99 ? '99+' : n;
    badge.hidden = !n;
    launcher.setAttribute('aria-label', (isOpen ? 'Close chat' : 'Open chat') + (n ? `, ${n} unread` : ''));
    if (n !== unread) { unread = n; emit('unread', n); }
  }

  // ---- open / close and user input ----
  // On <html>: a transform or display:none on body can't move or hide it; rewriting body keeps it.
  function mount() { if (!host.isConnected) document.documentElement.append(host); }
  function open() {
    mount();
    if (isOpen) return;
    isOpen = true;
    panel.hidden = false;
    root.classList.add('cs-open');
    launcher.setAttribute('aria-expanded', 'true');
    connect();
    render();
    list.scrollTop = list.scrollHeight;
    (prechat.hidden ? input : pcName).focus();
    markRead();
    emit('open');
  }
  function close() {
    if (!isOpen) return;
    const inside = panel.contains(shadow.activeElement);
    isOpen = false;
    panel.hidden = true;
    root.classList.remove('cs-open');
    launcher.setAttribute('aria-expanded', 'false');
    stopTyping();
    if (inside) launcher.focus();
    changed();
    emit('close');
  }
  launcher.onclick = () => (isOpen ? close() : open());
  $('.cs-close').onclick = close;
  $('.cs-end').onclick = () => send({type: 'close'});
  root.addEventListener('keydown', e => {
    if (e.key === 'Escape' && isOpen) { e.preventDefault(); close(); launcher.focus(); }
  });
  input.addEventListener('keydown', e => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
  });
  input.addEventListener('input', onType);
  composer.onsubmit = e => { e.preventDefault(); submit(); };
  const fileIn = $('.cs-file');
  $('.cs-clip').onclick = () => fileIn.click();
  fileIn.onchange = () => { attach(fileIn.files); fileIn.value = ''; };
  input.onpaste = e => attach(e.clipboardData.files);
  panel.ondragover = e => e.preventDefault();
  panel.ondrop = e => { e.preventDefault(); attach(e.dataTransfer.files); };
  function submit() {
    const text = input.value.trim();
    if (!text) return;
    stopTyping();
    input.value = '';
    input.style.height = '';
    queue(text);
    input.focus();
  }
  $('.cs-offline').onsubmit = e => { // reconnect so hello carries the email
    e.preventDefault();
    profile = {...profile, email: $('.cs-email').value.trim()};
    store.set('profile', profile);
    reconnect();
    changed();
  };
  const prechatDone = (name, email) => {
    profile = {...profile, done: true, ...(name ? {name} : {}), ...(email ? {email} : {})};
    store.set('profile', profile);
    if (name || email) reconnect();
    render();
    input.focus();
  };
  prechat.onsubmit = e => { e.preventDefault(); prechatDone($('.cs-pc-name').value.trim(), $('.cs-pc-email').value.trim()); };
  $('.cs-skip').onclick = () => prechatDone();
  $('.cs-rate-send').onclick = () => rate();
  $('.cs-rate-edit').onclick = () => { rated.locked = false; store.set('rated', rated); render(); comment.focus(); };
  $('.cs-mail').onsubmit = e => {
    e.preventDefault();
    mailed.hidden = true;
    mailWait = send({type: 'email_transcript', email: mailTo.value.trim() || null});
    if (!mailWait) { mailDone('Not connected; try again in a moment.'); connect(); }
  };
  // Your own copy (the files too): fetched with the token header, saved from a Blob.
  $('.cs-dl').onclick = () => fetch(src.origin + '/api/visitor/transcript', {headers: {'X-Visitor-Token': token}})
    .then(r => r.ok ? r.blob() : Promise.reject()).then(b => {
      const a = h('a');
      a.href = URL.createObjectURL(b);
      a.download = 'transcript.zip';
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 9e3);
    }, () => mailDone("Couldn't download the transcript."));
  $('.cs-new').onclick = () => input.focus();

  // ---- browser hints: network, visibility, another tab's token ----
  addEventListener('online', () => { if (want) live ? ping() : reconnect(); });
  // Offline: the socket is as good as dead. Drop it; the outbox resends after the next welcome.
  addEventListener('offline', () => { if (ws) dead(); });
  document.addEventListener('visibilitychange', () => {
    if (!visible()) return;
    if (want && !ws) connect(); else if (live) ping();
    markRead();
  });
  addEventListener('storage', e => {
    if (e.key !== NS + 'token') return;
    // The stored value, not e.newValue: racing tabs could swap tokens; the last write is the same for all.
    const t = store.get('token', null);
    if (typeof t === 'string' && t !== token) { token = t; if (want) reconnect(); }
  });

  // ---- start: render what we kept; connect if there is something to resume ----
  log.forEach(m => { const el = msgEl(m, 'sent'); have.set(m.conversation_id + ':' + m.seq, el); list.append(el); rank(m.conversation_id); });
  [...outbox.values()].sort((a, b) => a.t - b.t).forEach(showPending);
  mount();
  if (token || outbox.size) connect();
  else fetch(src.origin + '/api/widget-settings').then(r => r.json()).then(setCfg, () => {});
  render();

  const api = window[MARK] = Object.freeze({
    open,
    close,
    identify(id) { // link to a customer; null forgets the visitor (log out)
      if (id && typeof id === 'object') identity = id;
      else {
        identity = null; token = null; profile = {}; rated = null;
        ['token', 'profile', 'rated'].forEach(store.del);
        for (const cid of [...outbox.keys(), ...pend.keys()]) settle(cid)?.remove();
        resetLog(null);
      }
      reconnect();
      changed();
    },
    on(ev, fn) {
      (handlers[ev] = handlers[ev] || []).push(fn);
      return () => { handlers[ev] = handlers[ev].filter(f => f !== fn); };
    },
  });
  // An element with id="Chatserver" is a global too: take its name, but not the page's own object.
  const taken = window.Chatserver;
  if (taken == null || taken instanceof Element) window.Chatserver = api;
  if (taken != null) console.warn("[chatserver] the page already had a window.Chatserver; the widget's API is " +
    (window.Chatserver === api ? 'there now' : "window[Symbol.for('chatserver.widget')]"));
})();
