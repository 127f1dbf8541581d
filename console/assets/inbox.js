/* Chatserver agent console: the left column's tabs and search. The lists are server-rendered
 * parts (console/partials/sidebar/) that htmx reads again when shown (`show`), on the socket's
 * news (live.js) and every 15/30 s; a click on a chat opens it in the pane (hx-get). Also here:
 * the agent's zone and clock, told to the server in two cookies. */
(() => {
  'use strict';

  const root = document.getElementById('console');
  const sidebar = document.querySelector('.sidebar');
  if (!root || !sidebar || !window.htmx) return;
  const search = sidebar.querySelector('[data-testid="search"]');
  const tabs = [...sidebar.querySelectorAll('.tabs [role="tab"]')];
  const panels = [...sidebar.querySelectorAll('[data-view-panel]')];
  const part = (name) => sidebar.querySelector(`[data-part="${name}"]`);
  let view = 'inbox';
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

  sidebar.addEventListener('click', (e) => {
    if (e.target.closest('[data-testid="clear-search"]')) { search.value = ''; show(view); search.focus(); }
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
})();
