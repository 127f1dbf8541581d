/* Chatserver agent console: the customer panel follows the console (console_views/customer.py
 * renders it). `console:selected` (live.js) loads the body for the chat in the pane;
 * `console:frame` refreshes what money changes (approvals, a system message in this chat) in
 * place, leaving the forms; the panel folds away on narrow screens. A verified purchase tells
 * live.js itself (HX-Trigger-After-Swap: console:changed), which reads the pane again. */
(() => {
  'use strict';
  const root = document.getElementById('console');
  const panel = document.getElementById('customer-panel');
  if (!root || !panel) return;
  const toggle = document.querySelector('[data-testid="panel-toggle"]');
  const narrow = window.matchMedia('(max-width: 1100px)');
  const overseer = root.dataset.oversees === 'true';
  let shown = null; // the id of the chat shown
  let open = !narrow.matches;

  const load = (live) => shown != null && htmx.ajax('GET', `/console/parts/customer/${shown}${live ? '?live=1' : ''}`,
    { target: '#cp-body', swap: live ? 'none' : 'innerHTML' });

  function frame() {
    const available = shown != null || overseer;
    const visible = available && open;
    toggle.hidden = !available;
    toggle.setAttribute('aria-expanded', String(visible));
    toggle.classList.toggle('active', visible);
    panel.hidden = !visible;
    panel.toggleAttribute('data-chat', shown != null);
    root.classList.toggle('has-panel', visible);
    panel.querySelector('.cp-title').textContent = toggle.querySelector('.panel-toggle-label').textContent = shown != null ? 'Customer' : 'Approvals';
  }

  document.addEventListener('console:selected', ({ detail: conv }) => {
    const known = document.querySelector('#cp-body [data-customer-id]');
    const reload = conv && (shown !== conv.id ||
      (conv.customerId != null && String(conv.customerId) !== (known && known.dataset.customerId)));
    shown = conv ? conv.id : null;
    if (!conv) document.getElementById('cp-body').replaceChildren();
    else if (reload) load(false);
    frame();
  });

  document.addEventListener('console:frame', ({ detail: f = {} }) => {
    const money = f.type === 'approval' || f.type === 'welcome';
    if (money && overseer) htmx.trigger('#cp-approval-list', 'cp-refresh');
    if (money || (f.type === 'message' && shown != null && f.conversation_id === shown && f.author && f.author.role === 'system')) load(true);
  });

  // No answer (the network): say so under the form; its key is unchanged, so a retry is safe.
  document.addEventListener('htmx:sendError', ({ detail }) => {
    const form = detail.elt.closest('form');
    const box = form && form.querySelector('[data-offline]');
    if (!box) return;
    form.closest('li, section').querySelectorAll('[data-testid="action-result"]').forEach((n) => n.remove());
    Object.assign(box, { hidden: false }).dataset.testid = 'action-result';
  });

  const setOpen = (value) => { open = value; frame(); };
  toggle.addEventListener('click', () => setOpen(!open));
  panel.querySelector('[data-action="hide-panel"]').addEventListener('click', () => { setOpen(false); toggle.focus(); });
  panel.addEventListener('keydown', (e) => { if (e.key === 'Escape' && narrow.matches) { setOpen(false); toggle.focus(); } });
  narrow.addEventListener('change', () => setOpen(!narrow.matches));
  frame();
})();
