// Concord workspace: progressive enhancement only. Without this script
// every page works; with it, an open review queue updates itself.
//
// The queue page names a poll URL and its version. Every few seconds the
// script asks for the queue's version (no patient data); when it moved, it
// fetches the same page again and swaps in the new results, then says so
// in a live region for screen readers.
(function () {
  "use strict";
  var queue = document.getElementById("queue-results");
  if (!queue || !queue.dataset.pollUrl || !window.fetch) {
    return;
  }
  var version = queue.dataset.version;
  var seconds = parseInt(queue.dataset.pollSeconds, 10) || 10;
  var live = document.getElementById("queue-live");
  var busy = false;

  function refresh() {
    return fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (!r.ok || r.redirected) { throw new Error("reload"); }
        return r.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("queue-results");
        if (!fresh) { throw new Error("reload"); }
        var before = queue.querySelectorAll("tbody tr").length;
        queue.innerHTML = fresh.innerHTML;
        version = fresh.dataset.version;
        queue.dataset.version = version;
        var after = queue.querySelectorAll("tbody tr").length;
        if (live) {
          live.textContent = after > before ? "The queue has been updated: " + (after - before) + " more" + (after - before === 1 ? " flag." : " flags.")
            : "The queue has been updated.";
        }
      });
  }

  function poll() {
    if (busy || document.hidden) { return; }
    busy = true;
    fetch(queue.dataset.pollUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) {
        if (!r.ok || r.redirected) { throw new Error("reload"); }
        return r.json();
      })
      .then(function (v) {
        if (v.version !== version) { return refresh(); }
      })
      .catch(function () {
        // Signed out or the server moved on: a full load shows why.
        window.location.reload();
      })
      .then(function () { busy = false; });
  }

  window.setInterval(poll, seconds * 1000);
})();
