/* Chatserver console: telling the agent, whatever part of the page has news. `console:alert`
 * {text?, kind?, sound?, notify?: {title, body}, tag?, conversationId?} on `document` makes a
 * toast, a chime and a desktop notification (a click on it sends `console:open`). */
const toast = document.querySelector('[data-testid="toast"]');
let timer = 0;
document.addEventListener('console:alert', (event) => {
  const { text, kind, sound, notify, tag, conversationId } = event.detail || {};
  if (text) {
    Object.assign(toast, { textContent: text, hidden: false }).dataset.kind = kind || 'info';
    clearTimeout(timer);
    timer = setTimeout(() => { toast.hidden = true; }, 6000);
  }
  // Browsers play sound only after the agent clicked or typed in the page: none before.
  if (sound && navigator.userActivation.hasBeenActive) new Audio('/console/assets/chime.wav').play().catch(() => {});
  if (!notify || window.Notification?.permission !== 'granted') return;
  const note = new Notification(notify.title, { body: String(notify.body || '').slice(0, 200),
    tag: tag || `chatserver-alert-${conversationId || ''}` });
  note.onclick = () => {
    window.focus();
    note.close();
    if (conversationId != null) document.dispatchEvent(new CustomEvent('console:open', { detail: { id: conversationId } }));
  };
});
// Permission is asked on a click of the presence switch: a moment the agent expects it.
document.addEventListener('click', (e) => {
  if (e.target.closest('[data-testid="presence"]') && window.Notification?.permission === 'default') Notification.requestPermission();
});
