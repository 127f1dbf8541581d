// The admin page is server-rendered (htmx swaps its sections); what is left needs script:
// a new token's secret copied to the clipboard, and the colour's code beside its picker.
document.addEventListener('click', async (event) => {
  const button = event.target.closest('[data-copy]');
  const field = button && document.getElementById(button.dataset.copy);
  if (!field) return;
  let copied = true;
  try { await navigator.clipboard.writeText(field.value); } catch { // no clipboard here (plain http): by hand
    field.select();
    copied = document.execCommand('copy');
  }
  button.textContent = copied ? 'Copied' : 'Select and copy';
});
document.addEventListener('input', ({ target }) => {
  const code = target.type === 'color' && document.querySelector(`output[for="${target.id}"]`);
  if (code) code.textContent = target.value;
});
