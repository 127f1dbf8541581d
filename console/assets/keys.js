/* Chatserver console: the keyboard, the dialogs and the sheets. Outside a text field a key
 * presses the button it names (`?` lists them): j / k the next / previous chat of the list on
 * screen, r the reply box, n the note toggle, e escalate, f follow up, c close, / search. Esc
 * closes a dialog or a sheet, or leaves the field. Dialogs (`dialog[data-overlay]`, modal) close
 * from their `[data-dismiss]` buttons or a click beside them. Closing a chat asks first: its
 * button is posted (htmx `confirmed`) on Yes. The sheets under the pane's header open from the
 * buttons that control them. */
(() => {
  'use strict';

  const $ = (selector, root = document) => root.querySelector(selector);
  const dialogs = [...document.querySelectorAll('dialog[data-overlay]')];
  const TEXT_INPUTS = new Set(['text', 'search', 'email', 'number', 'password', 'tel', 'url', 'date',
    'datetime-local', 'time', 'month', 'week']);

  /** Native modal dialogs: the page behind is inert, and the focus goes back when they close. */
  function showOverlay(dialog) {
    for (const other of dialogs) if (other !== dialog && other.open) other.close();
    if (!dialog.open) dialog.showModal();
  }

  function hideOverlay() {
    const open = dialogs.find((dialog) => dialog.open);
    if (open) open.close();
    return !!open;
  }

  function typingInField(target) {
    if (!target || !target.tagName) return false;
    if (target.isContentEditable) return true;
    const tag = target.tagName.toLowerCase();
    if (tag === 'textarea' || tag === 'select') return true;
    return tag === 'input' && TEXT_INPUTS.has((target.type || 'text').toLowerCase());
  }

  /** Click a control the way the agent would: only when it is shown and enabled. */
  function press(selector, root = document) {
    const control = $(selector, root);
    if (control && !control.disabled && !control.closest('[hidden]')) control.click();
  }

  function focusReply() {
    const box = $('[data-testid="reply"]');
    if (!box || box.disabled || box.closest('[hidden]')) return;
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
  }

  /** j / k: the next or previous conversation of the list on screen, the reply box left alone. */
  function step(by) {
    const items = [...document.querySelectorAll('.sidebar .view:not([hidden]) [data-conversation-id]')]
      .filter((node) => !node.closest('[hidden]'));
    if (!items.length) return;
    const index = items.findIndex((node) => node.dataset.conversationId === $('#pane').dataset.wanted);
    const next = index < 0 ? (by > 0 ? 0 : items.length - 1) : Math.min(items.length - 1, Math.max(0, index + by));
    $('[hx-get]', items[next]).click();
    items[next].scrollIntoView({ block: 'nearest' });
  }

  const ACTIONS = {
    j: () => step(1),
    k: () => step(-1),
    r: focusReply,
    n: () => press('[data-testid="note-toggle"]'),
    e: () => press('[data-testid="escalate"]'),
    f: () => press('[data-testid="set-follow-up"]'),
    c: () => press('[data-testid="close-conversation"]'),
    '/': () => { const search = $('[data-testid="search"]'); search.focus(); search.select(); },
    '?': () => showOverlay($('[data-overlay="help"]')),
  };

  function onEscape(e) {
    if (hideOverlay()) { e.preventDefault(); return; }
    const sheet = $('form[data-sheet]:not([hidden])');
    if (sheet && (sheet.contains(e.target) || !typingInField(e.target))) {
      e.preventDefault();
      press('[data-action="cancel-sheet"]', sheet);
      if (sheet.contains(document.activeElement)) document.activeElement.blur();
      return;
    }
    if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur();
  }

  function onKeydown(e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    if (e.key === 'Escape') { onEscape(e); return; }
    if (dialogs.some((dialog) => dialog.open)) return;
    if (typingInField(e.target)) return;
    const action = Object.prototype.hasOwnProperty.call(ACTIONS, e.key) && ACTIONS[e.key];
    if (!action) return;
    e.preventDefault();
    action();
  }

  /** The sheets: a button opens or closes the one it controls; Cancel and the server's
   * `console:sheet-done` close it. */
  function sheet(form, open) {
    form.hidden = !open;
    const button = $(`[aria-controls="${form.id}"]`);
    if (button) { button.setAttribute('aria-expanded', String(open)); button.classList.toggle('active', open); }
    if (open) { form.querySelectorAll('[role="alert"]').forEach((n) => n.remove()); $('[name="note"]', form).focus(); }
  }
  const closeSheets = () => document.querySelectorAll('form[data-sheet]').forEach((form) => sheet(form, false));

  const confirmClose = $('[data-overlay="confirm-close"]');
  document.addEventListener('click', (e) => {
    const control = e.target.closest('[aria-controls]');
    const form = control && document.getElementById(control.getAttribute('aria-controls'));
    if (form && form.matches('form[data-sheet]')) {
      const open = form.hidden;
      closeSheets();
      sheet(form, open);
    }
    if (e.target.closest('[data-action="cancel-sheet"]')) closeSheets();
    const close = e.target.closest('[data-testid="close-conversation"]');
    if (close) {
      $('[data-confirm-text]', confirmClose).textContent = close.dataset.confirmText;
      confirmClose.closeButton = close;
      showOverlay(confirmClose);
    }
    if (e.target.closest('[data-testid="confirm-close-yes"]')) htmx.trigger(confirmClose.closeButton, 'confirmed');
  });
  document.addEventListener('console:sheet-done', () => { closeSheets(); focusReply(); });

  document.addEventListener('keydown', onKeydown);
  $('[data-testid="help-button"]').addEventListener('click', () => showOverlay($('[data-overlay="help"]')));
  for (const dialog of dialogs) {
    dialog.addEventListener('click', (e) => {
      const r = dialog.getBoundingClientRect(); // a click on the backdrop lands on the dialog itself
      const beside = e.target === dialog && (e.clientX < r.left || e.clientX > r.right || e.clientY < r.top || e.clientY > r.bottom);
      if (beside || e.target.closest('[data-dismiss]')) dialog.close();
    });
  }
})();
