/* Chatserver agent console: the left column's tabs and search, and the supervisors' alerts.
 * The lists are server-rendered parts (console/partials/sidebar/) that htmx reads again when
 * shown (`show`), on the socket's news (`news`, from `console:frame` here) and every 15/30 s.
 * Here: the view shown, opening a chat (`console:open`), marking the one on screen
 * (`console:selected`), follow-ups shared with the chat view (`console:follow-ups`), and the
 * escalation alerts, filled in as text from the `escalation` frame. */
(() => {
  'use strict';

  const root = document.getElementById('console');
  const sidebar = document.querySelector('.sidebar');
  if (!root || !sidebar || !window.htmx) return;
  const ME = Number(root.dataset.agentId);
  const OVERSEER = root.dataset.oversees === 'true';
  const search = sidebar.querySelector('[data-testid="search"]');
  const tabs = [...sidebar.querySelectorAll('.tabs [role="tab"]')];
  const panels = [...sidebar.querySelectorAll('[data-view-panel]')];
  const alerts = document.querySelector('[data-testid="alerts"]');
  const part = (name) => sidebar.querySelector(`[data-part="${name}"]`);
  const emit = (name, detail) => document.dispatchEvent(new CustomEvent(name, { detail }));
  let view = 'inbox';
  let selected = null;
  // The lists tell times in the agent's own zone and clock: the server reads these cookies.
  const told = Intl.DateTimeFormat([], { hour: 'numeric' }).resolvedOptions();
  document.cookie = `tz=${encodeURIComponent(told.timeZone || '')}; path=/console; samesite=strict`;
  document.cookie = `clock=${/h1[12]/.test(told.hourCycle) ? 12 : 24}; path=/console; samesite=strict`;

  // ---- which view is shown: a tab's, or the search results while the box has words ------
  function show(shown) {
    for (const panel of panels) panel.hidden = panel.dataset.viewPanel !== shown;
    for (const tab of tabs) {
      tab.setAttribute('aria-selected', String(tab.dataset.view === shown));
      tab.tabIndex = tab.dataset.view === view ? 0 : -1;
    }
  }

  function setView(name) {
    view = name;
    search.value = '';
    show(view);
    if (part(view)) htmx.trigger(part(view), 'show');
  }

  for (const tab of tabs) {
    tab.addEventListener('click', () => setView(tab.dataset.view));
    tab.addEventListener('keydown', (e) => { // arrow keys move between tabs
      if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
      e.preventDefault();
      const next = tabs[(tabs.indexOf(tab) + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length];
      next.focus();
      setView(next.dataset.view);
    });
  }
  search.addEventListener('input', () => show(search.value.trim() ? 'search' : view));
  search.form.addEventListener('submit', () => { if (search.value.trim()) show('search'); });

  // ---- opening a chat from a list, and marking the one on screen --------------------------
  sidebar.addEventListener('click', (e) => {
    const item = e.target.closest('[data-open]');
    if (item) emit('console:open', { id: Number(item.dataset.open), highlight: item.closest('li').dataset.highlight || '' });
    if (e.target.closest('[data-testid="clear-search"]')) { search.value = ''; show(view); search.focus(); }
  });

  function markSelected() {
    for (const li of sidebar.querySelectorAll('[data-part] li[data-conversation-id]')) {
      const on = Number(li.dataset.conversationId) === selected;
      li.classList.toggle('selected', on);
      li.querySelector('[data-open]').toggleAttribute('aria-current', on);
    }
  }
  document.addEventListener('console:selected', (e) => { selected = e.detail ? e.detail.id : null; markSelected(); });

  // ---- after a list is read: the selection, and the follow-ups shared with the chat view --
  document.body.addEventListener('htmx:afterSwap', (e) => {
    const target = e.detail.target;
    if (!sidebar.contains(target)) return;
    markSelected();
    if (target === part('followups')) {
      emit('console:follow-ups', [...target.querySelectorAll('[data-follow-up-id]')].map((li) => ({
        id: Number(li.dataset.followUpId), conversation_id: Number(li.dataset.conversationId),
        due_at: li.dataset.dueAt, note: li.querySelector('.fu-note').textContent, done_at: null })));
    }
  });

  // A list read only while shown (Closed) is not read in the background; no list is read
  // while the page is hidden, and all are when it shows again.
  document.body.addEventListener('htmx:beforeRequest', (e) => {
    const from = e.detail.elt;
    if (!from.matches('.sidebar [data-part]')) return;
    if (document.visibilityState !== 'visible' || (from.matches('[data-while-shown]') && from.closest('[hidden]'))) e.preventDefault();
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') for (const p of sidebar.querySelectorAll('[data-part][hx-get]')) htmx.trigger(p, 'news');
  });

  // ---- the socket's news: which lists may have changed ------------------------------------
  const NEWS = {
    welcome: ['open', 'closed', 'followups'], queue: ['open'], team: ['open'], assigned: ['open'],
    unassigned: ['open', 'closed'], unanswered: ['open'], escalation: ['open'], follow_up: ['followups'],
  };
  document.addEventListener('console:frame', (e) => {
    const frame = e.detail || {};
    for (const name of NEWS[frame.type] || []) if (part(name)) htmx.trigger(part(name), 'news');
    if (frame.type === 'escalation') escalated(frame);
  });

  // ---- escalations: a prominent alert for supervisors --------------------------------------
  function escalated(f) {
    if (!OVERSEER || f.conversation_id == null || (f.by && f.by.id === ME)) return;
    const by = (f.by && f.by.name) || 'An agent';
    const chat = f.visitor && f.visitor.name ? `the chat with ${f.visitor.name}` : 'a visitor\'s chat';
    const card = document.getElementById('escalation-alert').content.firstElementChild.cloneNode(true);
    card.dataset.conversationId = f.conversation_id;
    card.querySelector('.alert-title').textContent = `${by} asks a supervisor to join`;
    card.querySelector('.alert-meta').textContent = `${chat} · #${f.conversation_id} · ${new Date(f.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`;
    card.querySelector('.alert-note').textContent = f.note ? `“${f.note}”` : '';
    card.querySelector('[data-dismiss-alert]').setAttribute('aria-label', `Dismiss the alert about chat #${f.conversation_id}`);
    for (const old of alerts.querySelectorAll(`[data-conversation-id="${f.conversation_id}"]`)) old.remove();
    alerts.prepend(card);
    alerts.hidden = false;
    emit('console:alert', {
      sound: true, conversationId: f.conversation_id,
      notify: { title: `Escalation: ${by} needs a supervisor`, body: f.note || `${chat[0].toUpperCase()}${chat.slice(1)}` },
    });
  }

  alerts.addEventListener('click', (e) => {
    const card = e.target.closest('[data-testid="escalation-alert"]');
    if (!card || !e.target.closest('button')) return;
    if (e.target.closest('[data-open-alert]')) emit('console:open', { id: Number(card.dataset.conversationId), highlight: '' });
    card.remove();
    alerts.hidden = !alerts.children.length;
  });
})();
