// The admin page is server-rendered (htmx swaps its sections); what is left needs script:
// a new token's secret copied to the clipboard, and the colour's code beside its picker.
(function () {
  "use strict";

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const field = document.getElementById(button.dataset.copy);
    let copied = true;
    try {
      await navigator.clipboard.writeText(field.value);
    } catch (error) {
      field.select();
      copied = document.execCommand("copy");
    }
    button.textContent = copied ? "Copied" : "Select and copy";
  });

  document.addEventListener("input", (event) => {
    const code = event.target.type === "color" && document.querySelector(`output[for="${event.target.id}"]`);
    if (code) code.textContent = event.target.value;
  });
})();
