/* Chatserver console: the customer panel (console_views/customer.py renders it) follows the
 * chat in the pane. `console:selected` (live.js) loads its body; `console:frame` reads again, in
 * place and leaving the forms, what money changes (approvals; a system message in this chat).
 * A verified purchase tells live.js itself (HX-Trigger-After-Swap: console:changed). */
const panel = document.getElementById('customer-panel');
const body = document.getElementById('cp-body');
const toggle = document.querySelector('[data-testid="panel-toggle"]');
const narrow = matchMedia('(max-width: 1100px)'); // folded away there, behind the toggle
const overseer = document.getElementById('console').dataset.oversees === 'true';
let shown = null, open = !narrow.matches; // the id of the chat shown; the panel unfolded
const load = (live) => shown != null && htmx.ajax('GET', `/console/parts/customer/${shown}${live ? '?live=1' : ''}`,
  { target: body, swap: live ? 'none' : 'innerHTML' });

function frame(opened = open) {
  open = opened;
  toggle.hidden = shown == null && !overseer;
  panel.hidden = toggle.hidden || !open;
  toggle.ariaExpanded = String(!panel.hidden);
  panel.toggleAttribute('data-chat', shown != null);
}

document.addEventListener('console:selected', ({ detail: conv }) => {
  const known = body.querySelector('[data-customer-id]');
  const again = conv && (shown !== conv.id || (conv.customerId != null && String(conv.customerId) !== known?.dataset.customerId));
  shown = conv?.id ?? null;
  if (!conv) body.replaceChildren(); else if (again) load(false);
  frame();
});

document.addEventListener('console:frame', ({ detail: f }) => {
  const money = f.type === 'approval' || f.type === 'welcome';
  if (money && overseer) htmx.trigger('#cp-approval-list', 'cp-refresh');
  if (money || (f.type === 'message' && f.conversation_id === shown && f.author?.role === 'system')) load(true);
});

// No answer (the network): say so under the form; its key is unchanged, so a retry is safe.
document.addEventListener('htmx:sendError', ({ detail }) => {
  const form = detail.elt.closest('form');
  const offline = form?.querySelector('[data-offline]');
  if (!offline) return;
  form.closest('li, section').querySelectorAll('[data-testid="action-result"]').forEach((n) => n.remove());
  Object.assign(offline, { hidden: false }).dataset.testid = 'action-result';
});

const hide = () => { frame(false); toggle.focus(); };
toggle.addEventListener('click', () => frame(!open));
panel.querySelector('[data-action="hide-panel"]').addEventListener('click', hide);
panel.addEventListener('keydown', (e) => { if (e.key === 'Escape' && narrow.matches) hide(); });
narrow.addEventListener('change', () => frame(!narrow.matches));
frame();
