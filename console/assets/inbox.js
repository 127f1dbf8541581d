/* Chatserver agent console: the left column's tabs and search box (its Clear is a reset button).
 * The lists are parts (console/partials/sidebar/) that htmx reads when shown, on news and every
 * 15/30 s. Also here: the agent's zone and clock, told to the server in two cookies. */
const told = Intl.DateTimeFormat([], { hour: 'numeric' }).resolvedOptions();
document.cookie = `tz=${encodeURIComponent(told.timeZone || '')}; path=/console; samesite=strict`;
document.cookie = `clock=${/h1[12]/.test(told.hourCycle) ? 12 : 24}; path=/console; samesite=strict`;

const search = document.getElementById('search');
const tabs = [...document.querySelectorAll('.sidebar [role="tab"]')];
let chosen = tabs[0];

/** Shows the chosen tab's view, or the search results while the box has words. */
function show() {
  const shown = search.value.trim() ? null : chosen;
  for (const tab of tabs) {
    tab.setAttribute('aria-selected', String(tab === shown));
    tab.tabIndex = tab === chosen ? 0 : -1;
    document.getElementById(tab.getAttribute('aria-controls')).hidden = tab !== shown;
  }
  document.getElementById('view-search').hidden = !!shown;
}
const choose = (tab) => { chosen = tab; search.value = ''; show(); tab.focus(); }; // the search ends

for (const tab of tabs) tab.addEventListener('click', () => choose(tab));
tabs[0].parentElement.addEventListener('keydown', (e) => { // arrow keys move between tabs
  const by = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
  if (by) { e.preventDefault(); choose(tabs.at((tabs.indexOf(e.target) + by) % tabs.length)); }
});
search.addEventListener('input', show);
search.form.addEventListener('reset', () => { search.value = ''; show(); search.focus(); });

// No list is read while the page is hidden (all are when it shows: `visibilitychange` in their
// hx-trigger), nor one read only while shown (Closed) in the background.
document.body.addEventListener('htmx:beforeRequest', (e) => {
  const from = e.detail.elt;
  if (from.matches('.sidebar [data-part]') && (document.hidden || from.matches('[hidden] [data-while-shown]'))) e.preventDefault();
});
