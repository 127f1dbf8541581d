/* Chatserver console: telling the agent, whatever part of the page has news. Listens to
 * `console:alert` {text?, kind?, sound?, notify?: {title, body}, tag?, conversationId?} on
 * `document`: a toast, a beep, a desktop notification (a click on it sends `console:open`).
 * Audio starts only after a user gesture, and the notification permission is asked when the
 * agent first switches their presence. */
(() => {
  'use strict';

  const TOAST_MS = 6000;
  const toastBox = document.querySelector('[data-testid="toast"]');
  let audio = null;
  let toastTimer = 0;

  function unlockAudio() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      if (audio.state === 'suspended') audio.resume();
    } catch (e) { audio = null; }
  }

  function beep() {
    if (!audio || audio.state !== 'running') return;
    const t = audio.currentTime;
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = 'sine';
    osc.frequency.setValueAtTime(880, t);
    osc.frequency.setValueAtTime(1175, t + 0.09);
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.15, t + 0.01);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.22);
    osc.connect(gain).connect(audio.destination);
    osc.start(t);
    osc.stop(t + 0.25);
  }

  function notify({ title, body }, tag, conversationId) {
    if (!('Notification' in window) || Notification.permission !== 'granted') return;
    const note = new Notification(title, { body: String(body || '').slice(0, 200), tag });
    note.onclick = () => {
      window.focus();
      if (conversationId != null) {
        document.dispatchEvent(new CustomEvent('console:open', { detail: { id: conversationId } }));
      }
      note.close();
    };
  }

  function toast(text, kind) {
    toastBox.textContent = text;
    toastBox.dataset.kind = kind;
    toastBox.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { toastBox.hidden = true; }, TOAST_MS);
  }

  function askPermission() {
    if ('Notification' in window && Notification.permission === 'default') {
      Notification.requestPermission().catch(() => { /* dismissed */ });
    }
  }

  document.addEventListener('console:alert', (event) => {
    const { text, kind, sound, notify: note, tag, conversationId } = event.detail || {};
    if (text) toast(text, kind || 'info');
    if (sound) beep();
    if (note) notify(note, tag || `chatserver-alert-${conversationId || ''}`, conversationId);
  });
  for (const kind of ['pointerdown', 'keydown']) document.addEventListener(kind, unlockAudio, { passive: true });
  const presence = document.querySelector('[data-testid="presence"]');
  if (presence) presence.addEventListener('click', askPermission);
})();
