/*! Growth browser snippet: page views, events and identity for the Growth tracking API.
 *
 *   <script src="https://growth.example/static/growth.js"
 *           data-write-key="WRITE_KEY" data-host="https://growth.example" async></script>
 *
 * Then: growth.track("Product Added", {product_id: "sku-1"}), growth.identify("user-1",
 * {email: "a@b.c"}), growth.page(). Calls made before the file loads can be queued in
 * window.growthq = [["track", "Signed Up", {...}], ...].
 * It speaks the Segment message format, batches (every 2 s or 20 messages), and sends the
 * visible time on each page with navigator.sendBeacon when the page is left.
 */
(function (window, document) {
  "use strict";
  if (window.growth && window.growth.loaded) return;

  var script = document.currentScript || document.querySelector("script[data-write-key]");
  var writeKey = script && script.getAttribute("data-write-key");
  var host = ((script && script.getAttribute("data-host")) || "").replace(/\/$/, "");
  var endpoint = host + "/ingest/v1/batch";
  var COOKIE = "growth_aid";
  var USER_KEY = "growth_uid";
  var queue = [];
  var timer = null;

  function uuid() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".replace(/[xy]/g, function (c) {
      var r = (Math.random() * 16) | 0;
      return (c === "x" ? r : (r & 0x3) | 0x8).toString(16);
    });
  }

  function readCookie(name) {
    var match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : null;
  }

  function anonymousId() {
    var id = readCookie(COOKIE);
    if (!id) {
      id = uuid();
      document.cookie = COOKIE + "=" + encodeURIComponent(id) + "; path=/; max-age=31536000; SameSite=Lax";
    }
    return id;
  }

  function userId() {
    try { return window.localStorage.getItem(USER_KEY); } catch (e) { return null; }
  }

  function campaign() {
    var params = new URLSearchParams(window.location.search);
    var found = {};
    ["source", "medium", "campaign", "term", "content"].forEach(function (key) {
      var value = params.get("utm_" + key);
      if (value) found[key === "campaign" ? "name" : key] = value;
    });
    return found;
  }

  function context() {
    return {
      page: {
        url: window.location.href,
        path: window.location.pathname,
        search: window.location.search,
        referrer: document.referrer,
        title: document.title
      },
      campaign: campaign(),
      userAgent: window.navigator.userAgent,
      locale: window.navigator.language,
      timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
      library: { name: "growth.js", version: "1" }
    };
  }

  function enqueue(message) {
    message.messageId = uuid();
    message.anonymousId = anonymousId();
    var uid = userId();
    if (uid && !message.userId) message.userId = uid;
    message.timestamp = new Date().toISOString();
    message.context = context();
    queue.push(message);
    if (queue.length >= 20) flush();
    else if (!timer) timer = window.setTimeout(flush, 2000);
  }

  function payload(batch) {
    // text/plain keeps the request "simple": no CORS preflight, and sendBeacon accepts it.
    return JSON.stringify({ batch: batch, writeKey: writeKey, sentAt: new Date().toISOString() });
  }

  function flush(leaving) {
    if (timer) { window.clearTimeout(timer); timer = null; }
    if (!queue.length || !writeKey) return;
    var batch = queue.splice(0, queue.length);
    var body = payload(batch);
    if (leaving && navigator.sendBeacon) {
      navigator.sendBeacon(endpoint, new Blob([body], { type: "text/plain" }));
      return;
    }
    fetch(endpoint, { method: "POST", body: body, keepalive: true, headers: { "Content-Type": "text/plain" } })
      .catch(function () { queue = batch.concat(queue); }); // offline: try again with the next flush
  }

  // Visible time on this page, counted only while the tab is in front. Each time the page
  // is hidden the new visible seconds are reported; total_seconds is the running sum.
  var visibleMs = 0;
  var reportedMs = 0;
  var visibleSince = document.visibilityState === "visible" ? Date.now() : null;

  function sendTimeOnPage() {
    if (visibleSince !== null) { visibleMs += Date.now() - visibleSince; visibleSince = null; }
    var fresh = visibleMs - reportedMs;
    if (fresh < 1000) return;
    reportedMs = visibleMs;
    enqueue({ type: "track", event: "Time on Page", properties: {
      seconds: Math.round(fresh / 1000), total_seconds: Math.round(visibleMs / 1000), url: window.location.href
    } });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { sendTimeOnPage(); flush(true); }
    else { visibleSince = Date.now(); }
  });
  window.addEventListener("pagehide", function () { sendTimeOnPage(); flush(true); });

  var growth = {
    loaded: true,
    page: function (name, properties) {
      enqueue({ type: "page", name: name || document.title, properties: Object.assign({ url: window.location.href, referrer: document.referrer }, properties || {}) });
    },
    track: function (event, properties) {
      enqueue({ type: "track", event: event, properties: properties || {} });
    },
    identify: function (id, traits) {
      if (id) { try { window.localStorage.setItem(USER_KEY, id); } catch (e) { /* private mode */ } }
      enqueue({ type: "identify", userId: id || undefined, traits: traits || {} });
    },
    flush: function () { flush(false); }
  };

  var pending = window.growthq || [];
  window.growth = growth;
  for (var i = 0; i < pending.length; i++) {
    var call = pending[i];
    if (growth[call[0]]) growth[call[0]].apply(null, call.slice(1));
  }
  if (!script || script.getAttribute("data-auto-page") !== "false") growth.page();
})(window, document);
