/* Chatserver agent console: the customer panel (right-hand side of the conversation view).
 *
 * For the selected chat it shows the customer over the REST API (GET /api/customers/{id}):
 * who they are, their refund figures, orders, store credit, ledger and pending approvals,
 * with the forms to verify a purchase, refund an order and add store credit. Supervisors and
 * admins also get "Approvals waiting" with Approve / Reject (only Withdraw on their own request).
 *
 * It follows the console through the events console.js sends on `document`:
 * `console:selected` (the shown chat) and `console:frame` (every socket frame), and tells it
 * `console:customer` when verifying a purchase linked the chat to a customer.
 *
 * REST calls use the console's session cookie; every POST carries the page's CSRF token.
 * Safety rule, as in console.js: data only ever enters the DOM as text, never as markup.
 */
(() => {
  'use strict';

  // ---- small DOM helpers ----------------------------------------------------------------
  const { $, h, api, sentence, coalesced } = window.ConsoleKit;


  const root = $('#console');
  if (!root || !$('#customer-panel')) return;
  const overseer = root.dataset.oversees === 'true'; // the server's word: supervisors and admins
  // Nobody approves their own request (the server says 403 own_request); they may withdraw it.
  const isOwn = (approval) => approval.requested_by != null && String(approval.requested_by.id) === root.dataset.agentId;
  const narrowQuery = window.matchMedia('(max-width: 1100px)');

  const ui = {
    panel: $('#customer-panel'),
    scroll: $('#customer-panel .cp-scroll'),
    title: $('#customer-panel .cp-title'),
    hide: $('#customer-panel [data-action="hide-panel"]'),
    toggle: $('[data-testid="panel-toggle"]'),
    toggleLabel: $('.panel-toggle-label'),
    toggleCount: $('[data-testid="approvals-count"]'),
    error: $('#customer-panel [data-testid="panel-error"]'),
    approvals: $('[data-cp="approvals"]'),
    approvalList: $('[data-cp="approval-list"]'),
    approvalsCount: $('[data-cp="approvals-count"]'),
    approvalsEmpty: $('[data-cp="approvals-empty"]'),
    decision: $('[data-cp="decision"]'),
    body: $('[data-cp="body"]'),
  };

  const state = {
    conv: null,          // the shown chat {id, customerId, visitor, gone}, from console.js
    customerId: null,    // whose record is shown: the chat's, or learned by verifying
    customer: null,      // the answer of GET /api/customers/{id}
    loadError: null,
    approvals: [],       // pending approvals (supervisors and admins)
    approvalsError: null,
    decision: null,      // the last Approve / Reject answer {tone, text, detail}
    open: !narrowQuery.matches,
    drafts: new Map(),   // "form key|field" -> text typed: survives redraws
    results: new Map(),  // form key -> {tone, text, detail}: the answer shown under a form
    keys: new Map(),     // form key -> {signature, key}: one Idempotency-Key per submission
    busy: new Set(),     // form keys waiting for the server
  };

  // ---- money and time -------------------------------------------------------------------
  // The server's money rules for display and input: currency digits and the largest amount.
  const { minor_digits: MINOR_DIGITS, max_cents: MAX_CENTS } = JSON.parse(root.dataset.money);
  const digitsOf = (currency) => MINOR_DIGITS[String(currency || '').toUpperCase()] ?? 2;

  /** 14990, "USD" -> "149.90 USD", from the integer: no floating point on the way. */
  function money(cents, currency) {
    const digits = digitsOf(currency);
    const text = String(Math.abs(Math.trunc(Number(cents) || 0))).padStart(digits + 1, '0');
    const whole = (digits ? text.slice(0, -digits) : text).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    const part = digits ? `.${text.slice(-digits)}` : '';
    return `${cents < 0 ? '-' : ''}${whole}${part} ${currency || ''}`.trim();
  }

  /** "12.5" -> 1250 (minor units of `currency`), parsed as text; null if it is not an amount. */
  function parseAmount(input, currency) {
    const digits = digitsOf(currency);
    const found = /^(\d{1,12})(?:[.,](\d*))?$/.exec(String(input).trim().replace(/^\./, '0.'));
    if (!found) return null;
    const fraction = found[2] || '';
    if (fraction.length > digits) return null;
    const cents = Number(found[1]) * 10 ** digits + Number(fraction.padEnd(digits, '0') || '0');
    return Number.isSafeInteger(cents) && cents > 0 && cents <= MAX_CENTS ? cents : null;
  }

  const example = (currency) => (digitsOf(currency) ? `12.${'5'.padEnd(digitsOf(currency), '0')}` : '1250');

  const percent = (rate) => `${Math.round((Number(rate) || 0) * 1000) / 10}%`;

  function day(iso) {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? '' : d.toLocaleDateString([], { day: 'numeric', month: 'short', year: 'numeric' });
  }

  function moment(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return '';
    return `${d.toLocaleDateString([], { day: 'numeric', month: 'short' })}, ${d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`;
  }


  const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

  const uuid = () => (crypto.randomUUID ? crypto.randomUUID()
    : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join(''));

  // ---- the REST API ---------------------------------------------------------------------

  /** A refund or credit: the same submission retried keeps its Idempotency-Key, a new one gets a new key. */
  async function postMoney(formKey, path, body) {
    const signature = `${path} ${JSON.stringify(body)}`;
    let pending = state.keys.get(formKey);
    if (!pending || pending.signature !== signature) {
      pending = { signature, key: uuid() };
      state.keys.set(formKey, pending);
    }
    const answer = await api('POST', path, body, { 'Idempotency-Key': pending.key });
    if (answer.status && answer.status < 500) state.keys.delete(formKey); // answered: done with it
    return answer;
  }


  const refreshCustomer = coalesced(async () => {
    const { conv, customerId } = state;
    if (!conv || customerId == null) { renderBody(); return; }
    const answer = await api('GET', `/api/customers/${encodeURIComponent(customerId)}`);
    if (!state.conv || state.conv.id !== conv.id || state.customerId !== customerId) return; // moved on
    if (answer.ok) {
      state.customer = answer.data.customer;
      state.loadError = null;
    } else {
      state.loadError = `Could not load the customer: ${answer.message}`;
    }
    renderBody();
  });

  const refreshApprovals = coalesced(async () => {
    if (!overseer) return;
    const answer = await api('GET', '/api/approvals?status=pending');
    if (answer.ok) {
      state.approvals = answer.data.approvals || [];
      state.approvalsError = null;
    } else {
      state.approvalsError = `Could not load the approvals: ${answer.message}`;
    }
    renderApprovals();
    renderFrame();
  });

  // ---- following the console ------------------------------------------------------------
  document.addEventListener('console:selected', (event) => {
    const conv = event.detail || null;
    const before = state.conv;
    state.conv = conv;
    if (!conv || !before || before.id !== conv.id) {
      state.customerId = conv ? conv.customerId : null;
      state.customer = null;
      state.loadError = null;
      if (ui.scroll) ui.scroll.scrollTop = 0;
    } else if (conv.customerId != null && conv.customerId !== state.customerId) {
      state.customerId = conv.customerId;
      state.customer = null;
    }
    renderFrame();
    renderBody();
    if (conv && state.customer == null) refreshCustomer();
  });

  document.addEventListener('console:frame', (event) => {
    const frame = event.detail || {};
    if (frame.type === 'approval' || frame.type === 'welcome') {
      if (overseer) refreshApprovals();
      if (state.customerId != null) refreshCustomer();
    } else if (frame.type === 'message' && state.conv && frame.conversation_id === state.conv.id &&
               frame.author && frame.author.role === 'system') {
      if (state.customerId != null) refreshCustomer(); // a purchase verified, a refund issued...
    }
  });

  // ---- the panel's frame: shown, hidden, collapsed ---------------------------------------
  function renderFrame() {
    const available = !!state.conv || overseer;
    const open = available && state.open;
    ui.toggle.hidden = !available;
    ui.toggle.setAttribute('aria-expanded', String(open));
    ui.toggle.classList.toggle('active', open);
    ui.panel.hidden = !open;
    root.classList.toggle('has-panel', open);
    ui.title.textContent = state.conv ? 'Customer' : 'Approvals';
    ui.toggleLabel.textContent = ui.title.textContent;
    const waiting = state.approvals.length;
    ui.toggleCount.hidden = !overseer || !waiting;
    ui.toggleCount.textContent = String(waiting);
    ui.toggleCount.setAttribute('aria-label', `${plural(waiting, 'approval')} waiting`);
  }

  function setOpen(open) {
    state.open = open;
    renderFrame();
  }

  // ---- approvals waiting (supervisors and admins) ------------------------------------------
  function renderApprovals() {
    const list = state.approvals;
    ui.approvals.hidden = !overseer || (!!state.conv && !list.length && !state.decision && !state.approvalsError);
    ui.approvalsCount.textContent = String(list.length);
    ui.approvalsEmpty.hidden = list.length > 0;
    ui.approvalsEmpty.textContent = state.approvalsError || 'Nothing is waiting for a decision.';
    ui.approvalsEmpty.classList.toggle('cp-error-text', !!state.approvalsError);
    fillResult(ui.decision, state.decision);
    ui.approvalList.replaceChildren(...list.map(approvalItem));
  }

  function describe(a) {
    const what = a.kind === 'refund' ? 'Refund' : 'Store credit';
    return `${what} of ${money(a.amount_cents, a.currency)}${a.order_external_id ? ` on order ${a.order_external_id}` : ''}`;
  }

  function approvalItem(a) {
    const busy = state.busy.has(`approval:${a.id}`);
    const own = isOwn(a);
    const reject = own ? 'Withdraw' : 'Reject';
    return h('li', { class: 'cp-approval', 'data-testid': 'approval', 'data-approval-id': a.id },
      h('div', { class: 'cp-line' },
        h('span', { class: `cp-kind cp-kind-${a.kind}`, text: a.kind === 'refund' ? 'Refund' : 'Credit' }),
        h('strong', { class: 'cp-amount', text: money(a.amount_cents, a.currency) }),
        a.order_external_id ? h('span', { class: 'cp-muted', text: `order ${a.order_external_id}` }) : null),
      h('div', { class: 'cp-meta', text: [
        a.requested_by && `by ${a.requested_by.name}`,
        a.conversation_id != null && `chat #${a.conversation_id}`,
        a.customer_id != null && `customer #${a.customer_id}`,
        moment(a.created_at)].filter(Boolean).join(' · ') }),
      a.reason ? h('div', { class: 'cp-reason', text: `“${a.reason}”` }) : null,
      whyList(a.why),
      own ? h('p', { class: 'cp-muted', 'data-testid': 'own-request', text: 'Your own request: another supervisor or an admin decides it.' }) : null,
      h('div', { class: 'cp-actions' },
        own ? null : h('button', {
          type: 'button', class: 'btn btn-small btn-primary', 'data-testid': 'approve', disabled: busy,
          'aria-label': `Approve: ${describe(a)}`, text: 'Approve', onclick: () => decide(a, true),
        }),
        h('button', {
          type: 'button', class: 'btn btn-small btn-danger', 'data-testid': 'reject', disabled: busy,
          'aria-label': `${reject}: ${describe(a)}`, text: reject, onclick: () => decide(a, false),
        })));
  }

  function whyList(why) {
    if (!why || !why.length) return null;
    return h('ul', { class: 'cp-why', 'aria-label': 'Why it needs approval' },
      ...why.map((w) => h('li', { text: sentence(w) })));
  }

  async function decide(approval, approve) {
    const key = `approval:${approval.id}`;
    if (state.busy.has(key)) return;
    state.busy.add(key);
    renderApprovals();
    const answer = await api('POST', `/api/approvals/${encodeURIComponent(approval.id)}/${approve ? 'approve' : 'reject'}`, {});
    state.busy.delete(key);
    if (answer.ok) {
      const entry = answer.data.refund || answer.data.credit;
      state.decision = approve
        ? { tone: 'ok', text: `Approved: ${describe(approval)} is done.`, detail: entry && entry.instructions }
        : { tone: 'ok', text: `${isOwn(approval) ? 'Withdrawn' : 'Rejected'}: ${describe(approval)}.` };
    } else {
      state.decision = { tone: 'error', text: answer.message };
    }
    renderApprovals();
    refreshApprovals();
    if (state.customerId != null) refreshCustomer();
  }

  // ---- the customer ---------------------------------------------------------------------
  /** Rebuild the customer part, keeping what is typed, the focus and the scroll position. */
  function renderBody() {
    const active = document.activeElement;
    const focusKey = active && ui.body.contains(active) ? active.dataset.focus : null;
    let selection = null;
    try { selection = focusKey ? [active.selectionStart, active.selectionEnd] : null; } catch (e) { selection = null; }
    const scrollTop = ui.scroll ? ui.scroll.scrollTop : 0;

    ui.error.hidden = !state.loadError;
    ui.error.textContent = state.loadError || '';
    ui.body.replaceChildren(...bodyParts().filter(Boolean));
    renderApprovals();

    if (focusKey) {
      const again = [...ui.body.querySelectorAll('[data-focus]')].find((n) => n.dataset.focus === focusKey);
      if (again && !again.disabled) {
        again.focus({ preventScroll: true });
        try { if (selection && selection[0] != null) again.setSelectionRange(selection[0], selection[1]); } catch (e) { /* no selection */ }
      }
    }
    if (ui.scroll) ui.scroll.scrollTop = scrollTop;
  }

  function bodyParts() {
    const { conv, customer } = state;
    if (!conv) return [];
    if (state.customerId == null) {
      return [
        h('p', { class: 'cp-intro', text: 'This chat is not linked to a customer yet. Verify a purchase to see their orders and to refund or give credit.' }),
        conv.gone ? null : verifySection(conv, { open: true }),
      ];
    }
    if (!customer) return state.loadError ? [] : [h('p', { class: 'cp-loading', text: 'Loading the customer…' })];
    const trust = verification(conv, customer);
    return [
      customerCard(customer, trust),
      trust.any || conv.gone ? null : verifySection(conv, { open: true }),
      riskSection(customer.refund_figures),
      ordersSection(customer, conv, trust),
      creditSection(customer, conv, trust),
      customerApprovals(customer.approvals || []),
      ledgerSection(customer.ledger || []),
      trust.any && !conv.gone ? verifySection(conv, { open: false }) : null,
    ];
  }

  /** What this chat has verified: the visitor's identity, or orders by number and email. */
  function verification(conv, customer) {
    const identity = !!(conv.visitor && conv.visitor.verified) &&
      (conv.customerId === customer.id || conv.customerId === state.customerId);
    const orders = (customer.orders || []).filter((o) => (o.verified_in_conversations || []).includes(conv.id));
    return { identity, orders: new Set(orders.map((o) => o.id)), external: orders.map((o) => o.external_id), any: identity || orders.length > 0 };
  }

  const mayRefund = (trust, order) => overseer || trust.identity || trust.orders.has(order.id);
  const mayCredit = (trust) => overseer || trust.any;

  function customerCard(c, trust) {
    let verifiedHere;
    if (trust.identity) verifiedHere = 'Identity verified by the website';
    else if (trust.any) verifiedHere = `Purchase verified in this chat: order ${trust.external.join(', ')}`;
    return h('section', { class: 'cp-who', 'aria-label': 'Customer' },
      h('div', { class: 'cp-line' },
        h('span', { class: 'cp-name', text: c.name || c.email || `Customer #${c.id}` }),
        c.verified
          ? h('span', { class: 'cp-badge cp-badge-ok', 'data-testid': 'customer-verified', title: 'Signed in on the website with a verified identity', text: '✓ Identity verified' })
          : h('span', { class: 'cp-badge', title: 'Never signed in on the website with a verified identity', text: 'Identity not verified' })),
      c.email && c.name ? h('div', { class: 'cp-email', text: c.email }) : null,
      h('div', { class: 'cp-meta', text: `Customer since ${day(c.created_at)} · #${c.id}` }),
      h('div', { class: `cp-trust ${trust.any ? 'cp-trust-ok' : 'cp-trust-no'}`, 'data-testid': 'chat-verification',
        text: verifiedHere ? `✓ ${verifiedHere}` : 'Nothing verified in this chat yet' }));
  }

  // Which figures are at the risk threshold is the server's word (refund_figures.over_threshold).
  function riskSection(f) {
    if (!f) return null;
    const high90 = f.over_threshold.refunds_90d;
    const highRate = f.over_threshold.refund_rate_90d || f.over_threshold.refund_rate_lifetime;
    const figure = (label, value, high, hint) => h('div', { class: `cp-figure${high ? ' cp-high' : ''}`, title: hint },
      h('dt', { text: label }), h('dd', { text: value }));
    return h('section', { class: 'cp-section', 'aria-label': 'Refund figures' },
      h('h3', { class: 'cp-h', text: 'Refund figures' }),
      h('dl', { class: 'cp-figures', 'data-testid': 'risk-figures' },
        figure('Refunds, 90 days / lifetime', `${f.refunds_90d} / ${f.refunds_lifetime}`, high90,
          'Refunds issued to this customer in the last 90 days, and ever'),
        figure('Refund rate, 90 days / lifetime', `${percent(f.refund_rate_90d)} / ${percent(f.refund_rate_lifetime)}`, highRate,
          'Refunded over purchased, in the last 90 days and ever'),
        figure('Refunds without prior contact', String(f.refunds_without_prior_contact), f.refunds_without_prior_contact > 0,
          'Refunds given in the customer\'s first conversation with support'),
        figure('Customer age', plural(f.customer_age_days, 'day'), false, 'Since the customer record was created')));
  }

  /** One line of figures beside each refund form. */
  function riskLine(f) {
    if (!f) return null;
    const risky = f.over_threshold.refunds_90d || f.over_threshold.refund_rate_lifetime;
    return h('p', { class: `cp-risk-line${risky ? ' cp-high' : ''}`, 'data-testid': 'refund-risk',
      text: `${plural(f.refunds_90d, 'refund')} in 90 days · ${percent(f.refund_rate_lifetime)} refunded lifetime` });
  }

  function ordersSection(c, conv, trust) {
    const orders = c.orders || [];
    return h('section', { class: 'cp-section', 'aria-label': 'Orders' },
      h('h3', { class: 'cp-h' }, 'Orders ', h('span', { class: 'count', text: String(orders.length) })),
      orders.length
        ? h('ul', { class: 'cp-list' }, ...orders.map((o) => orderItem(o, c, conv, trust)))
        : h('p', { class: 'cp-empty', text: 'No orders.' }));
  }

  function orderItem(o, c, conv, trust) {
    const key = `${conv.id}:refund:${o.id}`;
    const here = (o.verified_in_conversations || []).includes(conv.id);
    let action = null;
    if (o.refundable_cents > 0 && mayRefund(trust, o)) action = refundForm(o, c, conv, key);
    else if (o.refundable_cents > 0) {
      action = h('p', { class: 'cp-locked', 'data-testid': 'refund-locked',
        text: 'Refunds need this purchase verified in this chat: ask the visitor for the order number and the email they bought with, and verify it.' });
    }
    return h('li', { class: 'cp-order', 'data-testid': 'order', 'data-order-id': o.id, 'data-external-id': o.external_id },
      h('div', { class: 'cp-line cp-line-spread' },
        h('span', { class: 'cp-product', text: o.product }),
        h('span', { class: 'cp-amount', text: money(o.amount_cents, o.currency) })),
      h('div', { class: 'cp-line cp-meta' },
        h('span', { text: `#${o.external_id}` }),
        h('span', { class: `cp-status cp-status-${String(o.status || 'paid').replace(/[^a-z_-]/gi, '')}`, text: o.status || 'paid' }),
        o.purchased_at ? h('span', { text: day(o.purchased_at) }) : null,
        here ? h('span', { class: 'cp-here', 'data-testid': 'verified-here', title: 'Verified in this chat', text: '✓ verified in this chat' }) : null),
      h('div', { class: 'cp-refundable' },
        h('span', {}, h('span', { class: 'cp-muted', text: 'Refundable ' }),
          h('strong', { 'data-testid': 'refundable', text: money(o.refundable_cents, o.currency) })),
        o.refunded_cents ? h('span', { class: 'cp-muted', text: `Refunded ${money(o.refunded_cents, o.currency)}` }) : null,
        o.pending_cents ? h('span', { class: 'cp-pending', text: `${money(o.pending_cents, o.currency)} waiting for approval` }) : null),
      action,
      resultBox(state.results.get(key)));
  }

  // ---- forms ----------------------------------------------------------------------------
  /** A text input whose value survives redraws (kept in state.drafts under "key|name"). */
  function input(key, name, attrs = {}, fallback = '') {
    const draftKey = `${key}|${name}`;
    const value = state.drafts.has(draftKey) ? state.drafts.get(draftKey) : fallback;
    return h('input', { type: 'text', autocomplete: 'off', ...attrs, name, value, 'data-focus': draftKey, 'data-draft': draftKey });
  }

  const field = (label, control, extra = {}) => h('label', { class: `cp-field ${extra.class || ''}`.trim() },
    h('span', { class: 'cp-label', text: label }), control);

  function submitButton(key, label, testid, busyLabel) {
    const busy = state.busy.has(key);
    return h('button', { type: 'submit', class: 'btn btn-small btn-primary', 'data-testid': testid, 'data-focus': `${key}|submit`, disabled: busy, text: busy ? busyLabel : label });
  }

  function resultBox(result) {
    if (!result) return null;
    const box = h('div', { 'data-testid': 'action-result' });
    fillResult(box, result);
    return box;
  }

  function fillResult(box, result) {
    box.hidden = !result;
    box.textContent = '';
    if (!result) return;
    box.className = `cp-result cp-result-${result.tone}`;
    box.setAttribute('role', result.tone === 'error' ? 'alert' : 'status');
    box.append(h('div', { text: result.text }));
    if (result.detail) box.append(h('div', { class: 'cp-instructions' }, h('strong', { text: 'Next step: ' }), result.detail));
  }

  function setResult(key, tone, text, detail = null) {
    state.results.set(key, { tone, text, detail });
    renderBody();
  }

  function forget(key) {
    for (const draftKey of [...state.drafts.keys()]) if (draftKey.startsWith(`${key}|`)) state.drafts.delete(draftKey);
  }

  const valueOf = (form, name) => String((form.elements.namedItem(name) || {}).value || '').trim();

  function refundForm(o, c, conv, key) {
    return h('form', { class: 'cp-form', novalidate: true, 'aria-label': `Refund order ${o.external_id}`,
      onsubmit: (e) => { e.preventDefault(); submitRefund(e.currentTarget, o, conv, key); } },
      h('div', { class: 'cp-row' },
        field(`Amount (${o.currency})`, input(key, 'amount', {
          inputmode: 'decimal', 'data-testid': 'refund-amount', placeholder: example(o.currency),
          title: `At most ${money(o.refundable_cents, o.currency)}`,
        }), { class: 'cp-field-amount' }),
        field('Reason', input(key, 'reason', { 'data-testid': 'refund-reason', maxlength: 1000, placeholder: 'e.g. not started' }),
          { class: 'cp-grow' }),
        submitButton(key, 'Refund', 'refund-submit', 'Refunding…')),
      riskLine(c.refund_figures));
  }

  async function submitRefund(form, o, conv, key) {
    if (state.busy.has(key)) return;
    const cents = parseAmount(valueOf(form, 'amount'), o.currency);
    const reason = valueOf(form, 'reason');
    if (cents == null) return setResult(key, 'error', `Enter the amount in ${o.currency}, like ${example(o.currency)}.`);
    if (!reason) return setResult(key, 'error', 'Give a reason for the refund.');
    state.busy.add(key);
    renderBody();
    const answer = await postMoney(key, `/api/orders/${encodeURIComponent(o.id)}/refunds`,
      { amount_cents: cents, reason, conversation_id: conv.id });
    state.busy.delete(key);
    if (answer.status === 201) {
      const entry = answer.data.refund || {};
      forget(key);
      setResult(key, 'ok', `Refunded ${money(entry.amount_cents, entry.currency)}.`, entry.instructions);
    } else if (answer.status === 202) {
      forget(key);
      setResult(key, 'pending', `Sent for approval: ${waitingWhy(answer.data.approval)}.`);
    } else {
      setResult(key, 'error', retryable(answer, 'Refund'));
    }
    refreshCustomer();
  }

  const waitingWhy = (approval) => ((approval && approval.why) || []).join('; ') || 'a supervisor decides';

  function retryable(answer, button) {
    if (answer.status && answer.status < 500) return answer.message;
    return `${answer.message} Press ${button} again to retry: it will not be done twice.`;
  }

  function creditSection(c, conv, trust) {
    const key = `${conv.id}:credit:${c.id}`;
    const balances = Object.entries(c.credit_balances || {}).filter(([, cents]) => cents);
    return h('section', { class: 'cp-section', 'aria-label': 'Store credit' },
      h('h3', { class: 'cp-h', text: 'Store credit' }),
      balances.length
        ? h('ul', { class: 'cp-balances' }, ...balances.map(([currency, cents]) => h('li', {
          class: 'cp-balance', 'data-testid': 'credit-balance', 'data-currency': currency, text: money(cents, currency) })))
        : h('p', { class: 'cp-empty', text: 'No store credit.' }),
      mayCredit(trust)
        ? creditForm(c, conv, key)
        : h('p', { class: 'cp-locked', text: 'Store credit needs a purchase or the identity verified in this chat.' }),
      resultBox(state.results.get(key)));
  }

  function creditForm(c, conv, key) {
    const currency = ((c.orders || [])[0] || {}).currency || Object.keys(c.credit_balances || {})[0] || 'USD';
    return h('form', { class: 'cp-form', novalidate: true, 'aria-label': 'Add store credit',
      onsubmit: (e) => { e.preventDefault(); submitCredit(e.currentTarget, conv, c, key); } },
      h('div', { class: 'cp-row' },
        field('Amount', input(key, 'amount', { inputmode: 'decimal', 'data-testid': 'credit-amount', placeholder: example(currency) }),
          { class: 'cp-field-amount' }),
        field('Currency', input(key, 'currency', { 'data-testid': 'credit-currency', maxlength: 3, autocapitalize: 'characters' }, currency),
          { class: 'cp-field-currency' }),
        field('Expires', input(key, 'expires', { type: 'date', 'data-testid': 'credit-expires', title: 'Optional: the credit ends with this day' }),
          { class: 'cp-field-date' })),
      h('div', { class: 'cp-row cp-row-end' },
        field('Reason', input(key, 'reason', { 'data-testid': 'credit-reason', maxlength: 1000, placeholder: 'e.g. goodwill for the delay' }),
          { class: 'cp-grow' }),
        submitButton(key, 'Add credit', 'credit-submit', 'Adding…')));
  }

  async function submitCredit(form, conv, c, key) {
    if (state.busy.has(key)) return;
    const currency = valueOf(form, 'currency').toUpperCase();
    const reason = valueOf(form, 'reason');
    const expires = valueOf(form, 'expires');
    if (!/^[A-Z]{3}$/.test(currency)) return setResult(key, 'error', 'The currency is a three-letter code like USD.');
    const cents = parseAmount(valueOf(form, 'amount'), currency);
    if (cents == null) return setResult(key, 'error', `Enter the amount in ${currency}, like ${example(currency)}.`);
    if (!reason) return setResult(key, 'error', 'Give a reason for the credit.');
    const body = { amount_cents: cents, currency, reason, conversation_id: conv.id };
    if (expires) {
      const end = new Date(`${expires}T23:59:59`); // the end of that day, here
      if (Number.isNaN(end.getTime())) return setResult(key, 'error', 'The expiry is not a date.');
      body.expires_at = end.toISOString();
    }
    state.busy.add(key);
    renderBody();
    const answer = await postMoney(key, `/api/customers/${encodeURIComponent(c.id)}/credits`, body);
    state.busy.delete(key);
    if (answer.status === 201) {
      const entry = answer.data.credit || {};
      forget(key);
      setResult(key, 'ok', `Added ${money(entry.amount_cents, entry.currency)} of store credit.`, entry.instructions);
    } else if (answer.status === 202) {
      forget(key);
      setResult(key, 'pending', `Sent for approval: ${waitingWhy(answer.data.approval)}.`);
    } else {
      setResult(key, 'error', retryable(answer, 'Add credit'));
    }
    refreshCustomer();
  }

  function verifySection(conv, { open }) {
    const key = `${conv.id}:verify`;
    const result = state.results.get(key);
    const form = h('form', { class: 'cp-form', novalidate: true, 'aria-label': 'Verify a purchase',
      onsubmit: (e) => { e.preventDefault(); submitVerify(e.currentTarget, conv, key); } },
      h('div', { class: 'cp-row' },
        field('Order number', input(key, 'order', { 'data-testid': 'verify-order', placeholder: 'e.g. 1042', maxlength: 100 }),
          { class: 'cp-field-order' }),
        field('Email used to buy', input(key, 'email', { type: 'email', 'data-testid': 'verify-email', maxlength: 254, placeholder: 'name@example.com' },
          (conv.visitor && conv.visitor.email) || ''), { class: 'cp-grow' }),
        submitButton(key, 'Verify', 'verify-submit', 'Checking…')),
      h('p', { class: 'cp-hint', text: 'On a match, the visitor sees “Purchase verified” in the chat.' }),
      resultBox(result));
    if (open) {
      return h('section', { class: 'cp-section cp-verify', 'aria-label': 'Verify a purchase' },
        h('h3', { class: 'cp-h', text: 'Verify a purchase' }),
        h('p', { class: 'cp-hint', text: 'Ask for the order number and the email it was bought with. Refunds and store credit need a verified purchase or identity.' }),
        form);
    }
    const details = h('details', { class: 'cp-section cp-more', open: !!result || state.drafts.get(`${key}|open`) === '1' || null,
      ontoggle: (e) => state.drafts.set(`${key}|open`, e.currentTarget.open ? '1' : '') },
    h('summary', { class: 'cp-h', text: 'Verify another order' }), form);
    return details;
  }

  async function submitVerify(form, conv, key) {
    if (state.busy.has(key)) return;
    const order = valueOf(form, 'order');
    const email = valueOf(form, 'email');
    if (!order) return setResult(key, 'error', 'Enter the order number.');
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) return setResult(key, 'error', 'Enter the email the order was bought with.');
    state.busy.add(key);
    renderBody();
    const answer = await api('POST', `/api/conversations/${encodeURIComponent(conv.id)}/verify`, { order, email });
    state.busy.delete(key);
    if (!answer.ok) {
      const message = answer.code === 'no_match' ? 'No order with that number was bought with that email.' : answer.message;
      return setResult(key, 'error', message);
    }
    const found = answer.data.order;
    forget(key);
    state.results.delete(key);
    if (found.customer_id !== state.customerId) {
      state.customerId = found.customer_id;
      state.customer = null;
    }
    // The console keeps the chat's customer too (and tells us again: same id, no reload).
    document.dispatchEvent(new CustomEvent('console:customer', {
      detail: { conversationId: conv.id, customerId: found.customer_id } }));
    renderBody();
    refreshCustomer();
  }

  // ---- pending approvals and the ledger of this customer -----------------------------------
  function customerApprovals(approvals) {
    const pending = approvals.filter((a) => a.status === 'pending');
    if (!pending.length) return null;
    return h('section', { class: 'cp-section', 'aria-label': 'Waiting for approval' },
      h('h3', { class: 'cp-h' }, 'Waiting for approval ', h('span', { class: 'count', text: String(pending.length) })),
      h('ul', { class: 'cp-list' }, ...pending.map((a) => h('li', { class: 'cp-approval cp-approval-mini', 'data-testid': 'customer-approval', 'data-approval-id': a.id },
        h('div', { class: 'cp-line' },
          h('span', { class: `cp-kind cp-kind-${a.kind}`, text: a.kind === 'refund' ? 'Refund' : 'Credit' }),
          h('strong', { class: 'cp-amount', text: money(a.amount_cents, a.currency) }),
          a.order_external_id ? h('span', { class: 'cp-muted', text: `order ${a.order_external_id}` }) : null),
        h('div', { class: 'cp-meta', text: `Asked by ${(a.requested_by || {}).name || 'an agent'} · ${moment(a.created_at)}` }),
        whyList(a.why)))));
  }

  function ledgerSection(entries) {
    const newest = entries.slice().sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)) || b.id - a.id);
    return h('section', { class: 'cp-section', 'aria-label': 'Ledger' },
      h('h3', { class: 'cp-h' }, 'Ledger ', h('span', { class: 'count', text: String(entries.length) })),
      newest.length
        ? h('ol', { class: 'cp-list cp-ledger' }, ...newest.map(ledgerEntry))
        : h('p', { class: 'cp-empty', text: 'No refunds or credits yet.' }));
  }

  function ledgerEntry(e) {
    const refund = e.kind === 'refund';
    return h('li', { class: 'cp-entry', 'data-testid': 'ledger-entry', 'data-kind': e.kind, 'data-entry-id': e.id },
      h('div', { class: 'cp-line cp-line-spread' },
        h('span', { class: 'cp-line' },
          h('span', { class: `cp-kind cp-kind-${e.kind}`, text: refund ? 'Refund' : 'Credit' }),
          h('strong', { class: 'cp-amount', text: money(e.amount_cents, e.currency) }),
          e.order_external_id ? h('span', { class: 'cp-muted', text: `order ${e.order_external_id}` }) : null),
        h('time', { class: 'cp-time', datetime: e.created_at, text: moment(e.created_at) })),
      e.reason ? h('div', { class: 'cp-reason', text: `“${e.reason}”` }) : null,
      h('div', { class: 'cp-meta', text: [
        `by ${(e.agent || {}).name || 'an agent'}`,
        e.approval_id != null && 'approved by a supervisor',
        e.conversation_id != null && `chat #${e.conversation_id}`,
        e.expires_at && `expires ${day(e.expires_at)}`].filter(Boolean).join(' · ') }),
      e.instructions ? h('div', { class: 'cp-instructions' }, h('strong', { text: 'To do: ' }), e.instructions) : null);
  }

  // ---- wiring ---------------------------------------------------------------------------
  ui.panel.addEventListener('input', (event) => {
    const key = event.target && event.target.dataset && event.target.dataset.draft;
    if (key) state.drafts.set(key, event.target.value);
  });
  ui.toggle.addEventListener('click', () => setOpen(!state.open));
  ui.hide.addEventListener('click', () => { setOpen(false); ui.toggle.focus(); });
  ui.panel.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && narrowQuery.matches) { setOpen(false); ui.toggle.focus(); }
  });
  narrowQuery.addEventListener('change', () => setOpen(!narrowQuery.matches));

  renderFrame();
  renderApprovals();
  if (overseer) refreshApprovals();
})();
