// The console's Admin page: its forms and buttons change things through the REST API.
//
// Every change is a fetch with the session's CSRF token (from <meta name="csrf-token">) in the
// X-CSRF-Token header; the server refuses a change without it. After a change the page's lists
// are read again from the server (the page itself, re-rendered) so what is shown is what is
// stored. Server error messages are shown as they come; nothing is built with innerHTML.
(function () {
  "use strict";

  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const main = document.querySelector("[data-testid='admin']");
  if (!main) return;

  function csrf() {
    return csrfMeta ? csrfMeta.getAttribute("content") || "" : "";
  }

  // --- talking to the API ---------------------------------------------------------------
  async function call(method, url, body) {
    const headers = { "X-CSRF-Token": csrf(), "Accept": "application/json" };
    const options = { method, headers, credentials: "same-origin", cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, options);
    } catch (error) {
      throw new Error("The server could not be reached. Check the connection and try again.");
    }
    if (response.status === 204) return null;
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
    if (!response.ok) {
      if (response.status === 401) document.querySelector("[data-testid='session-ended']").hidden = false;
      const message = data && data.error && data.error.message
        ? data.error.message : `The server refused the change (HTTP ${response.status}).`;
      const failure = new Error(message.charAt(0).toUpperCase() + message.slice(1));
      failure.status = response.status;
      throw failure;
    }
    return data;
  }

  // A form's fields as the API's JSON: data-type="int" numbers, "lines" lists, "bool" and
  // checkboxes booleans; an empty data-optional field is left out.
  function bodyOf(form) {
    const body = {};
    for (const field of Array.from(form.elements)) {
      if (!field.name || field.disabled || field.tagName === "BUTTON") continue;
      const type = field.dataset.type;
      let value = field.type === "checkbox" ? field.checked : field.value;
      if (typeof value === "string" && field.type !== "password") value = value.trim();
      if (value === "" && "optional" in field.dataset) continue;
      if (type === "int") value = value === "" ? null : Number(value);
      else if (type === "bool") value = value === "true";
      else if (type === "lines") value = value.split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
      body[field.name] = value;
    }
    return body;
  }

  // --- what the admin sees ----------------------------------------------------------------
  function sectionOf(element) {
    return element.closest("[data-section]");
  }

  function showError(where, message) {
    const box = where.matches("[data-section]")
      ? where.querySelector(":scope > [data-error]") : where.querySelector("[data-error]");
    if (!box) return;
    box.textContent = message;
    box.hidden = !message;
  }

  function clearErrors(section) {
    for (const box of section.querySelectorAll("[data-error]")) {
      box.textContent = "";
      box.hidden = true;
    }
  }

  const noticeTimers = new WeakMap();
  function notice(section, message) {
    const box = section.querySelector("[data-notice]");
    if (!box) return;
    box.textContent = message;
    box.classList.add("pg-visible");
    clearTimeout(noticeTimers.get(box));
    noticeTimers.set(box, setTimeout(() => box.classList.remove("pg-visible"), 4000));
  }

  // Read the page again and swap in its fresh lists.
  async function refresh() {
    const response = await fetch(location.pathname, { credentials: "same-origin", cache: "no-store" });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const old of document.querySelectorAll("[data-refresh]")) {
      const replacement = fresh.querySelector(`[data-refresh="${old.dataset.refresh}"]`);
      if (replacement) old.replaceWith(document.importNode(replacement, true));
    }
  }

  function busy(control, on) {
    const buttons = control.tagName === "FORM"
      ? control.querySelectorAll("button[type='submit']") : [control];
    for (const button of buttons) {
      if (on) {
        button.dataset.wasDisabled = button.disabled ? "1" : "";
        button.disabled = true;
        button.setAttribute("aria-busy", "true");
      } else {
        button.disabled = button.dataset.wasDisabled === "1";
        button.removeAttribute("aria-busy");
      }
    }
  }

  async function change(control, method, url, body) {
    const section = sectionOf(control);
    clearErrors(section);
    busy(control, true);
    try {
      const result = await call(method, url, body);
      if (control.tagName === "FORM" && "reset" in control.dataset) control.reset();
      if ("token" in control.dataset && result && result.token) showSecret(result.token.token);
      notice(section, control.dataset.done || "Saved.");
      await refresh();
    } catch (error) {
      // a form with a place for errors shows its own; a list's row or button, its section's
      const own = control.tagName === "FORM" && control.querySelector("[data-error]");
      showError(own ? control : section, error.message);
    } finally {
      if (control.isConnected) busy(control, false);
    }
  }

  // --- forms and buttons ------------------------------------------------------------------
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.apiUrl) return;
    event.preventDefault();
    change(form, form.dataset.apiMethod || "POST", form.dataset.apiUrl, bodyOf(form));
  });

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-api-url]");
    if (button) {
      if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
      const body = button.dataset.body ? JSON.parse(button.dataset.body) : undefined;
      change(button, button.dataset.apiMethod || "POST", button.dataset.apiUrl, body);
      return;
    }
    const action = event.target.closest("[data-action]");
    if (action && action.dataset.action === "copy-secret") copySecret(action);
    if (action && action.dataset.action === "hide-secret") hideSecret();
  });

  // The colour's code beside the picker.
  document.addEventListener("input", (event) => {
    if (event.target.type !== "color") return;
    const code = event.target.closest("label").querySelector("[data-color-code]");
    if (code) code.textContent = event.target.value;
  });

  // --- a new token's secret: shown once -------------------------------------------------
  const secretBox = document.querySelector("[data-testid='token-secret']");
  const secretValue = document.querySelector("[data-testid='token-secret-value']");

  function showSecret(secret) {
    secretValue.value = secret;
    secretBox.hidden = false;
    secretValue.focus();
    secretValue.select();
  }

  function hideSecret() {
    secretValue.value = "";
    secretBox.hidden = true;
  }

  async function copySecret(button) {
    let copied = false;
    try {
      await navigator.clipboard.writeText(secretValue.value);
      copied = true;
    } catch (error) {
      secretValue.select();
      copied = document.execCommand && document.execCommand("copy");
    }
    button.textContent = copied ? "Copied" : "Select and copy";
    setTimeout(() => { button.textContent = "Copy"; }, 2500);
  }
})();
