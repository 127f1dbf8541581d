/* Chatserver console: canned responses in the reply box. The composer holds them, hidden, in the
 * server's order (pane.html); `/word` at the caret shows those whose shortcut starts with it, then
 * those containing it. ↑ ↓ pick, Tab or Enter insert, Escape closes; Tab on a whole `/shortcut`
 * inserts it at once. Keys are taken first (capture) and preventDefault()ed: composer.js leaves them. */

// The reply box, its list, every item (server's order), those shown, the active one; the `/word` typed.
let box, list, all, token, shown = [], index = 0;
function at() { // at the start or after a space
  const found = box.selectionStart === box.selectionEnd && /(?<=^|\s)\/([a-z0-9-]*)$/i.exec(box.value.slice(0, box.selectionEnd));
  return found && { start: found.index, end: box.selectionEnd, word: found[1].toLowerCase() };
}

function show(items, active = 0) {
  [shown, index, list.hidden] = [items, active, !items.length];
  for (const li of all) Object.assign(li, { hidden: !items.includes(li), ariaSelected: String(li === items[active]) });
  list.append(...items); // in the order shown
  box.ariaActiveDescendantElement = items[active] ?? null; // (a textarea may not be a combobox: no aria-expanded)
}

function update() {
  token = at();
  const rank = ({ dataset: { shortcut: s } }) => (s.startsWith(token.word) ? 0 : s.includes(token.word) ? 1 : 2);
  const items = token ? all.filter((li) => rank(li) < 2).sort((a, b) => rank(a) - rank(b)).slice(0, 6) : [];
  show(items, Math.max(0, items.indexOf(shown[index]))); // the active one stays while shown
}

function insert(li) { // the input event: the list closes, the draft and typing follow
  box.setRangeText(li.querySelector('.canned-text').textContent, token.start, token.end, 'end');
  box.dispatchEvent(new Event('input', { bubbles: true }));
}

function keydown(e) {
  const key = e.isComposing || e.shiftKey ? '' : e.key;
  const exact = key === 'Tab' && list.hidden && (token = at()) && all.find((li) => li.dataset.shortcut === token.word);
  if (exact) insert(exact);
  else if (list.hidden) return;
  else if (key === 'ArrowDown' || key === 'ArrowUp') show(shown, (index + (key === 'ArrowUp' ? shown.length - 1 : 1)) % shown.length);
  else if (key === 'Tab' || key === 'Enter') insert(shown[index]);
  else if (key === 'Escape') show([]);
  else return;
  e.preventDefault();
}

// The reply box comes and goes with the pane: its events are followed on the document.
for (const [type, handler] of Object.entries({ keydown, input: update, click: update, blur: () => show([]) })) {
  document.addEventListener(type, (e) => {
    if (e.target.id !== 'reply') return;
    if (box !== e.target) {
      [box, list] = [e.target, e.target.form.querySelector('.canned')];
      all = [...list.children];
    }
    handler(e);
  }, true);
}
document.addEventListener('mousedown', (e) => { // before the box loses focus
  const li = e.target.closest('.canned-item');
  if (li) { e.preventDefault(); insert(li); }
});
