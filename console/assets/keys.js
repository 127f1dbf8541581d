/* Chatserver console: the keyboard. Outside a text field a key presses the button it names
 * (`?` lists them): j / k the next / previous chat of the list on screen, r the reply box, n the
 * note toggle, e escalate, f follow up, c close, / search; Esc leaves the field. The dialogs
 * (`command`, `closedby`) and the sheets under the pane's header (`popover`) open, close on Esc
 * or a click beside them, and give the focus back by themselves. */
const $ = (selector) => document.querySelector(selector);

/** Click a control the way the agent would: only when it is shown (disabled ones ignore it). */
const press = (testid) => $(`[data-testid="${testid}"]:not([hidden], [hidden] *)`)?.click();

function focusReply() { // the caret after what is written
  const box = $('#reply');
  if (box) { box.focus(); box.setSelectionRange(box.value.length, box.value.length); }
}

/** j / k: the next or previous chat of the list on screen, the reply box left alone. */
function step(by) {
  const items = [...document.querySelectorAll('.sidebar [data-conversation-id]:not([hidden] *)')];
  const at = items.findIndex((item) => item.dataset.conversationId === $('#pane').dataset.wanted);
  const next = at < 0 ? items.at(by > 0 ? 0 : -1) : items[at + by];
  next?.querySelector('[hx-get]').click();
  next?.scrollIntoView({ block: 'nearest' });
}

const ACTIONS = {
  j: () => step(1), k: () => step(-1), r: focusReply, '/': () => $('#search').select(),
  n: () => press('note-toggle'), e: () => press('escalate'), f: () => press('set-follow-up'),
  c: () => press('close-conversation'), '?': () => press('help-button'),
};

document.addEventListener('keydown', (e) => {
  // an open dialog has the keys (Esc closes it natively), and so has a text field but for Esc
  if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || e.isComposing || $(':modal')) return;
  if (e.key === 'Escape') document.activeElement.blur(); // an open sheet closes natively
  else if (!e.target.matches(':read-write, select') && Object.hasOwn(ACTIONS, e.key)) {
    e.preventDefault();
    ACTIONS[e.key]();
  }
});

// A sheet opens without the error it was last refused with, and closes once sent (the
// server's `console:sheet-done`), the reply going on.
document.addEventListener('beforetoggle', (e) => {
  if (e.newState === 'open') e.target.querySelector('.sheet-error')?.remove();
}, true);
document.addEventListener('console:sheet-done', () => { $('.sheet:popover-open')?.hidePopover(); focusReply(); });
