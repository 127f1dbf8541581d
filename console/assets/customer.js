/* Chatserver agent console: the customer panel follows the console (console_views/customer.py
 * renders it). `console:selected` loads the body for the shown chat; `console:frame` refreshes
 * what money changes (approvals, a system message in this chat) in place, leaving the forms;
 * the panel folds away on narrow screens. A verified purchase tells console.js itself
 * (HX-Trigger: console:customer). */
(() => {
  'use strict';
  const root = document.getElementById('console');
  const panel = document.getElementById('customer-panel');
  if (!root || !panel) return;
  const toggle = document.querySelector('[data-testid="panel-toggle"]');
  const narrow = window.matchMedia('(max-width: 1100px)');
  const overseer = root.dataset.oversees === 'true';
  let shown = null; // {id, customerId} of the chat shown
  let open = !narrow.matches;

  const load = (live) => shown && htmx.ajax('GET', `/console/parts/customer/${shown.id}${live ? '?live=1' : ''}`,
    { target: '#cp-body', swap: live ? 'none' : 'innerHTML' });

  function frame() {
    const available = !!shown || overseer;
    toggle.hidden = !available;
    toggle.setAttribute('aria-expanded', String(available && open));
    toggle.classList.toggle('active', available && open);
    panel.hidden = !(available && open);
    panel.toggleAttribute('data-chat', !!shown);
    root.classList.toggle('has-panel', available && open);
    panel.querySelector('.cp-title').textContent = toggle.querySelector('.panel-toggle-label').textContent = shown ? 'Customer' : 'Approvals';
  }

  document.addEventListener('console:selected', (event) => {
    const conv = event.detail ? { id: event.detail.id, customerId: event.detail.customerId } : null;
    const same = shown && conv && shown.id === conv.id;
    const known = document.querySelector('#cp-body [data-customer-id]');
    shown = conv;
    if (!conv) document.getElementById('cp-body').replaceChildren();
    else if (!same || (conv.customerId != null && String(conv.customerId) !== (known && known.dataset.customerId))) load(false);
    frame();
  });

  document.addEventListener('console:frame', ({ detail: f = {} }) => {
    if (f.type === 'approval' || f.type === 'welcome') {
      if (overseer) htmx.trigger('#cp-approval-list', 'cp-refresh');
      load(true);
    } else if (f.type === 'message' && shown && f.conversation_id === shown.id && f.author && f.author.role === 'system') load(true);
  });

  // No answer (the network): say so under the form; its key is unchanged, so a retry is safe.
  document.addEventListener('htmx:sendError', ({ detail }) => {
    const form = detail.elt.closest('form');
    const box = form && form.querySelector('[data-offline]');
    if (!box) return;
    form.closest('li, section').querySelectorAll('[data-testid="action-result"]').forEach((n) => n.remove());
    box.hidden = false;
    box.dataset.testid = 'action-result';
  });

  const setOpen = (value) => { open = value; frame(); };
  toggle.addEventListener('click', () => setOpen(!open));
  panel.querySelector('[data-action="hide-panel"]').addEventListener('click', () => { setOpen(false); toggle.focus(); });
  panel.addEventListener('keydown', (e) => { if (e.key === 'Escape' && narrow.matches) { setOpen(false); toggle.focus(); } });
  narrow.addEventListener('change', () => setOpen(!narrow.matches));
  frame();
})();
