// Ikawaari hosted checkout: card and mobile-money payments against
// POST /api/checkout/{id}/pay, and the page a provider sends the customer
// back to. Plain JavaScript, no dependencies.
(function () {
  'use strict';
  var root = document.getElementById('checkout');
  var form = document.getElementById('pay-form');
  // No form: nothing this session can be paid with.
  if (!root || !form) return;
  var sessionId = root.getAttribute('data-session');
  var T = JSON.parse(document.getElementById('ik-strings').textContent);
  var button = document.getElementById('pay-button');
  var message = document.getElementById('form-message');
  var $ = function (id) { return document.getElementById(id); };
  var method = $('panel-card') ? 'card' : 'mobile_money';
  var attemptKey = null; // reused only to retry an attempt whose answer never arrived
  var busy = false;

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var a = new Uint8Array(16);
    crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }

  // ----- tabs -----
  var tabs = [$('tab-card'), $('tab-momo')].filter(Boolean);
  function selectTab(tab) {
    tabs.forEach(function (t) {
      var on = t === tab;
      t.setAttribute('aria-selected', on ? 'true' : 'false');
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute('aria-controls')).hidden = !on;
    });
    method = tab.id === 'tab-card' ? 'card' : 'mobile_money';
    clearErrors();
  }
  tabs.forEach(function (tab, i) {
    tab.addEventListener('click', function () { selectTab(tab); });
    tab.addEventListener('keydown', function (e) {
      if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
      var next = tabs[(i + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length];
      selectTab(next);
      next.focus();
    });
  });

  // ----- card field formatting -----
  function brandOf(digits) {
    if (/^4/.test(digits)) return 'Visa';
    if (/^(5[1-5]|2(2[2-9]|[3-6]\d|7[01]|720))/.test(digits)) return 'Mastercard';
    if (/^3[47]/.test(digits)) return 'Amex';
    return '';
  }
  var number = $('card-number');
  if (number) {
    number.addEventListener('input', function () {
      var digits = number.value.replace(/\D/g, '').slice(0, 19);
      var groups = /^3[47]/.test(digits) ? [4, 6, 5] : [4, 4, 4, 4, 3];
      var out = [], pos = 0;
      groups.forEach(function (g) { if (pos < digits.length) { out.push(digits.slice(pos, pos + g)); pos += g; } });
      number.value = out.join(' ');
      $('card-brand').textContent = brandOf(digits);
    });
  }
  var expiry = $('card-expiry');
  if (expiry) {
    expiry.addEventListener('input', function (e) {
      var d = expiry.value.replace(/\D/g, '').slice(0, 4);
      if (d.length === 1 && d > '1') d = '0' + d;
      var deleting = e.inputType && e.inputType.indexOf('delete') === 0;
      expiry.value = d.length > 2 || (d.length === 2 && !deleting) ? d.slice(0, 2) + '/' + d.slice(2) : d;
    });
  }
  var cvc = $('card-cvc');
  if (cvc) cvc.addEventListener('input', function () { cvc.value = cvc.value.replace(/\D/g, '').slice(0, 4); });

  // ----- errors -----
  var FIELD = {
    'payment_method.card.number': ['card-number', 'invalid_number'],
    'payment_method.card.exp_month': ['card-expiry', 'invalid_expiry'],
    'payment_method.card.exp_year': ['card-expiry', 'invalid_expiry'],
    'payment_method.card.cvc': ['card-cvc', 'invalid_cvc'],
    'payment_method.mobile_money.phone': ['momo-phone', 'invalid_phone'],
    'payment_method.mobile_money.provider': ['momo-provider', 'invalid_provider'],
    'amount': ['custom-amount', 'invalid_amount']
  };
  function clearErrors() {
    message.textContent = '';
    message.className = 'message';
    Array.prototype.forEach.call(document.querySelectorAll('.field-error'), function (el) { el.textContent = ''; });
    Array.prototype.forEach.call(document.querySelectorAll('[aria-invalid]'), function (el) { el.removeAttribute('aria-invalid'); });
  }
  function fieldError(inputId, key) {
    var input = $(inputId);
    if (!input) return false;
    input.setAttribute('aria-invalid', 'true');
    $(inputId + '-error').textContent = T[key];
    return true;
  }
  function say(text, kind) {
    var cls = 'message ' + (kind || 'error');
    // Unchanged while polling: a screen reader hears it once.
    if (message.textContent === text && message.className === cls) return;
    message.textContent = text;
    message.className = cls;
  }
  function declineText(err) {
    var code = err && (err.decline_code || err.code);
    if (code === 'insufficient_funds') return T.insufficient_funds;
    if (code === 'incorrect_cvc') return T.incorrect_cvc;
    if (code === 'expired_card') return T.expired_card;
    return T.card_declined;
  }
  // As JsStrings::momo_decline on the server: the reason when it helps.
  function momoDeclineText(err) {
    var why = { insufficient_funds: T.insufficient_funds, customer_declined: T.customer_declined,
      expired_authorization: T.expired_authorization }[err && err.decline_code];
    return why ? T.momo_failed + ' ' + why : T.momo_failed;
  }
  function setBusy(on, text) {
    busy = on;
    button.disabled = on;
    button.setAttribute('aria-busy', on ? 'true' : 'false');
    if (on) say(text || T.processing, 'info');
    else {
      hideWaiting();
      // Every answer ends the busy message, whatever comes next.
      if (message.className.indexOf('info') >= 0) say('', '');
    }
  }

  // ----- waiting for the provider: approve on the phone, or pay at Wave -----
  // Both sit in a polite live region: shown, they are read out.
  var ussdHint = $('ussd-hint'), waveAction = $('wave-action');
  var waveLink = $('wave-link'), waveQr = $('wave-qr');
  // Only a web address becomes a link (never javascript: or data:).
  function webUrl(u) {
    try {
      var url = new URL(u);
      return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
    } catch (e) { return null; }
  }
  function actionOf(view) { return (view && view.payment_intent && view.payment_intent.next_action) || null; }
  function showWaiting(action) {
    var url = action && action.type === 'redirect_to_url' ? webUrl(action.redirect_url) : null;
    var mtn = !!action && action.type === 'approve_on_phone' && action.provider === 'mtn_momo';
    var elsewhere = !!action && action.type === 'redirect_to_url';
    // A redirect to anything but a web page is not followed: processing, no link.
    setBusy(true, url ? T.wave_continue : elsewhere ? T.processing : T.approve_on_phone);
    ussdHint.hidden = !mtn;
    waveAction.hidden = !url;
    button.hidden = !!url;
    if (url && waveLink.getAttribute('href') !== url) {
      waveLink.setAttribute('href', url);
      // A new attempt has a new page: a fresh image, not the cached one.
      waveQr.setAttribute('src', '/checkout/' + encodeURIComponent(sessionId) + '/wave-qr.svg?t=' + Date.now());
    }
  }
  function hideWaiting() {
    ussdHint.hidden = true;
    waveAction.hidden = true;
    button.hidden = false;
  }
  function luhnOk(digits) {
    var sum = 0;
    for (var i = 0; i < digits.length; i++) {
      var d = +digits[digits.length - 1 - i];
      if (i % 2 === 1) { d *= 2; if (d > 9) d -= 9; }
      sum += d;
    }
    return digits.length >= 13 && digits.length <= 19 && sum % 10 === 0;
  }
  function expiryPast(month, year) {
    var now = new Date();
    return year < now.getFullYear() || (year === now.getFullYear() && month < now.getMonth() + 1);
  }

  // ----- a payment link's custom amount -----
  var custom = $('custom-amount-field');
  var amountInput = $('custom-amount');
  var C = custom && {
    min: +custom.getAttribute('data-min'), max: +custom.getAttribute('data-max'),
    exp: +custom.getAttribute('data-exp'), group: custom.getAttribute('data-group'),
    decimal: custom.getAttribute('data-decimal'), prefix: custom.getAttribute('data-prefix'),
    suffix: custom.getAttribute('data-suffix')
  };
  // What the customer typed, in minor units (NaN when it is not an amount).
  function typedMinor() {
    // The decimal separator becomes '.', spaces and group separators go.
    var t = amountInput.value.replace(/[\s\u00a0\u202f,.]/g, function (c) { return c === C.decimal ? '.' : ''; });
    if (!/^\d+(\.\d*)?$/.test(t)) return NaN;
    var parts = t.split('.');
    var frac = (parts[1] || '');
    if (frac.length > C.exp) return NaN;
    while (frac.length < C.exp) frac += '0';
    return parseInt(parts[0] + frac, 10);
  }
  function grouped(digits) {
    var out = '';
    for (var i = 0; i < digits.length; i++) {
      if (i > 0 && (digits.length - i) % 3 === 0) out += C.group;
      out += digits[i];
    }
    return out;
  }
  function formatMinor(minor) {
    var s = String(minor);
    while (s.length <= C.exp) s = '0' + s;
    var major = C.exp ? s.slice(0, s.length - C.exp) : s;
    return grouped(major) + (C.exp ? C.decimal + s.slice(s.length - C.exp) : '');
  }
  function showTotal() {
    var m = typedMinor();
    var shown = button.querySelector('.amount');
    if (shown) shown.textContent = m > 0 ? C.prefix + formatMinor(m) + C.suffix : '';
  }
  if (custom) {
    amountInput.addEventListener('input', function () {
      var m = typedMinor();
      // Regroup the digits as they are typed, without moving decimals.
      if (C.exp === 0 && m >= 0) amountInput.value = m ? grouped(String(m)) : '';
      showTotal();
    });
    showTotal();
  }
  function withAmount(body) {
    if (!body || !custom) return body;
    var m = typedMinor();
    if (!(m >= C.min && m <= C.max)) { fieldError('custom-amount', 'invalid_amount'); return null; }
    body.amount = m;
    return body;
  }

  // ----- building the request -----
  function cardBody() {
    var digits = number.value.replace(/\D/g, '');
    var exp = expiry.value.replace(/\s/g, '').split('/');
    var ok = true;
    clearErrors();
    var month = parseInt(exp[0], 10), year = parseInt(exp[1], 10);
    if (year < 100) year = 2000 + year;
    // The server checks the same; checking here spares a round trip.
    if (!luhnOk(digits)) { fieldError('card-number', 'invalid_number'); ok = false; }
    if (!(month >= 1 && month <= 12) || !(year >= 0) || expiryPast(month, year)) { fieldError('card-expiry', 'invalid_expiry'); ok = false; }
    if (!/^\d{3,4}$/.test(cvc.value)) { fieldError('card-cvc', 'invalid_cvc'); ok = false; }
    if (!ok) return null;
    return { payment_method: { type: 'card', card: { number: digits, exp_month: month, exp_year: year, cvc: cvc.value } } };
  }
  function momoBody() {
    clearErrors();
    var phone = $('momo-phone').value.replace(/[\s.-]/g, '');
    if (!/^\+[1-9]\d{7,14}$/.test(phone)) { fieldError('momo-phone', 'invalid_phone'); return null; }
    return { payment_method: { type: 'mobile_money', mobile_money: { provider: $('momo-provider').value, phone: phone } } };
  }

  // ----- outcomes -----
  function redirect(url) {
    say(T.redirecting, 'success');
    window.location.assign(url);
  }
  // `action`: the payment's next_action as last seen, shown until the view says otherwise.
  function poll(action) {
    showWaiting(action);
    fetch('/api/checkout/' + encodeURIComponent(sessionId), { headers: { Accept: 'application/json' } })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (s.status === 'complete') return redirect('/checkout/' + encodeURIComponent(sessionId) + '/complete');
        if (s.status === 'expired') return window.location.reload();
        if (s.payment_intent && s.payment_intent.status === 'requires_payment_method') {
          setBusy(false);
          return say(s.payment_intent.last_payment_error ? momoDeclineText(s.payment_intent.last_payment_error) : T.generic_error);
        }
        var next = actionOf(s) || action;
        showWaiting(next);
        setTimeout(function () { poll(next); }, 1500);
      })
      .catch(function () { setTimeout(function () { poll(action); }, 3000); });
  }
  // What a 202 waits for: the session's next_action, else Wave's URL alone.
  function payAction(body) {
    var a = actionOf(body && body.session);
    if (a) return a;
    return body && body.redirect_url ? { type: 'redirect_to_url', redirect_url: body.redirect_url } : null;
  }
  function handle(status, body) {
    var err = body && body.error;
    attemptKey = null; // an answer arrived: the next click is a new attempt
    if (status === 200 && body.redirect_url) return redirect(body.redirect_url);
    if (status === 202) {
      poll(payAction(body));
      if (!waveAction.hidden) waveLink.focus();
      return;
    }
    setBusy(false);
    if (status === 402) return say(declineText(err));
    if (status === 429) return say(T.rate_limited);
    if (status === 409 && err && err.code === 'payment_in_progress') return poll(null);
    if (status === 400 && err && err.code === 'payment_method_unavailable') return say(T.method_unavailable);
    if (status === 409 && err && err.code === 'payment_link_used_up') return say(T.link_used_up);
    if (status === 409 || status === 404) return window.location.reload();
    if (status === 400 && err) {
      var shown = false;
      (err.errors || [err]).forEach(function (e) {
        var f = FIELD[e.param];
        if (f) shown = fieldError(f[0], f[1]) || shown;
      });
      if (shown) return;
    }
    say(T.generic_error);
  }

  // A reload while a mobile-money payment is processing shows that state
  // and keeps polling, instead of a fresh, payable form.
  fetch('/api/checkout/' + encodeURIComponent(sessionId), { headers: { Accept: 'application/json' } })
    .then(function (r) { return r.json(); })
    .then(function (s) {
      if (!busy && s.payment_intent && s.payment_intent.status === 'processing') poll(actionOf(s));
    })
    .catch(function () {});

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    if (busy) return;
    var body = withAmount(method === 'card' ? cardBody() : momoBody());
    if (!body) return;
    attemptKey = attemptKey || newKey();
    setBusy(true);
    fetch('/api/checkout/' + encodeURIComponent(sessionId) + '/pay', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': attemptKey, Accept: 'application/json' },
      body: JSON.stringify(body)
    })
      .then(function (r) { return r.json().catch(function () { return null; }).then(function (b) { handle(r.status, b); }); })
      .catch(function () { setBusy(false); say(T.network_error); });
  });
})();

// The page a provider (Wave) sends the customer back to: while the payment
// is confirmed, poll; once paid, the completion page; anything else, a
// reload, and the server shows what happened.
(function () {
  'use strict';
  var root = document.getElementById('return');
  if (!root || root.getAttribute('data-state') !== 'processing') return;
  var id = encodeURIComponent(root.getAttribute('data-session'));
  function poll() {
    fetch('/api/checkout/' + id, { headers: { Accept: 'application/json' } })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
      .then(function (s) {
        if (s.status === 'complete') return window.location.assign('/checkout/' + id + '/complete');
        if (s.status === 'open' && s.payment_intent && s.payment_intent.status === 'processing') return setTimeout(poll, 1500);
        window.location.reload();
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  poll();
})();
