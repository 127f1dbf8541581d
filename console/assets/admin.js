// The admin page is server-rendered (htmx swaps its sections); what is left needs script:
// a new token's secret copied to the clipboard, and the colour's code beside its picker.
document.addEventListener('click', async (event) => {
  const button = event.target.closest('[data-copy]');
  const field = button && document.getElementById(button.dataset.copy);
  if (!field) return;
  // Plain http has no clipboard API (a TypeError): the old way then, on the text selected.
  const copied = await Promise.try(() => navigator.clipboard.writeText(field.value))
    .then(() => true, () => { field.select(); return document.execCommand('copy'); });
  button.textContent = copied ? 'Copied' : 'Select and copy';
});
document.addEventListener('input', ({ target }) => {
  const code = target.type === 'color' && document.querySelector(`output[for="${target.id}"]`);
  if (code) code.textContent = target.value;
});
