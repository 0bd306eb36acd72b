// The browser snippet served at /t.js, kept as plain ES5 text (no build step, no dependencies) so
// it runs on any storefront. It sends nothing until the visitor is identified (an email from the
// store's page or from `chapar.identify`), and then only the events a page asks it to send.

/**
 * The source of /t.js. A store includes
 * `<script src="https://chapar.example/t.js" data-key="chpk_…" data-email="{{customer.email}}" async></script>`
 * and calls `chapar.identify({ email })`, `chapar.track('product_viewed', { productId, … })` and
 * `chapar.track('cart_updated', { items, value })`; calls made before the script loaded are queued
 * with `(window.chapar = window.chapar || []).push(['track', type, properties])` and replayed (the
 * same line works once it has loaded).
 */
export const TRACKING_SNIPPET = `/* Chapar storefront events: product views and cart updates of identified visitors */
(function (w, d) {
  'use strict';
  if (w.chapar && w.chapar.loaded) return;
  var script = d.currentScript || d.querySelector('script[data-key][src*="/t.js"]');
  if (!script) return;
  var key = script.getAttribute('data-key') || '';
  var endpoint = script.src.replace(/\\/t\\.js(\\?.*)?$/, '/t/events');
  var STORE = 'chapar:email';
  var email = null;

  function read() {
    try { return w.localStorage.getItem(STORE); } catch (e) { return null; }
  }
  function save(v) {
    try { if (v) w.localStorage.setItem(STORE, v); else w.localStorage.removeItem(STORE); } catch (e) { /* private mode */ }
  }
  function valid(v) {
    return typeof v === 'string' && v.length <= 320 && /^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$/.test(v);
  }
  function randomId() {
    var c = w.crypto;
    if (c && c.randomUUID) return c.randomUUID();
    var b = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(b); else for (var i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
    var s = '';
    for (var j = 0; j < 16; j++) s += (b[j] < 16 ? '0' : '') + b[j].toString(16);
    return s;
  }

  var fromPage = (script.getAttribute('data-email') || '').trim();
  email = valid(fromPage) ? fromPage : read();

  var api = {
    loaded: true,
    /** Names the visitor; remembered on this device until reset(). */
    identify: function (who) {
      var v = who && typeof who.email === 'string' ? who.email.trim() : '';
      if (!valid(v)) return false;
      email = v;
      save(v);
      return true;
    },
    /** Forgets the visitor (call on sign-out). */
    reset: function () {
      email = null;
      save(null);
    },
    /** Sends one event for an identified visitor; does nothing for anonymous ones. */
    track: function (type, properties) {
      if (!email || !key || typeof type !== 'string') return false;
      var body = JSON.stringify({ key: key, email: email, events: [{ id: randomId(), type: type, properties: properties || {}, url: w.location.href.split('#')[0] }] });
      try {
        w.fetch(endpoint, { method: 'POST', mode: 'cors', credentials: 'omit', keepalive: true, headers: { 'Content-Type': 'application/json' }, body: body })['catch'](function () {});
      } catch (e) { return false; }
      return true;
    }
  };

  /** Runs one queued call, ['track', type, properties]: the same line works before and after loading. */
  api.push = function (call) {
    if (call && call[0] !== 'push' && typeof api[call[0]] === 'function') return api[call[0]].apply(api, Array.prototype.slice.call(call, 1));
    return false;
  };

  var queued = w.chapar;
  w.chapar = api;
  if (queued && queued.length) for (var q = 0; q < queued.length; q++) api.push(queued[q]);
})(window, document);
`;
