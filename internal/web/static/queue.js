// Refreshes the support queue in place: every few seconds it fetches the
// table's rows for the same filter (the server renders them) and swaps
// them in. Without script the page works as is and a reload refreshes it.
(function () {
  "use strict";
  var table = document.getElementById("queue");
  if (!table || !table.dataset.fragment || !window.fetch) {
    return;
  }
  var body = table.tBodies[0];
  var url = table.dataset.fragment;
  function every() {
    var s = parseInt(table.dataset.refresh, 10);
    return (s > 0 ? s : 15) * 1000;
  }
  function refresh() {
    // A hidden tab waits until it is shown again.
    if (document.hidden) {
      setTimeout(refresh, every());
      return;
    }
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" }, cache: "no-store" })
      .then(function (r) {
        // Signed out or an error: keep what is shown, try again later.
        if (!r.ok || r.headers.get("X-Fragment") !== "queue_rows") {
          return null;
        }
        return r.text();
      })
      .then(function (html) {
        // A keyboard user inside the rows keeps their place: swapping the
        // rows would drop their focus to the top of the page. They are
        // swapped at the next refresh after focus has left them.
        if (html !== null && !body.contains(document.activeElement)) {
          body.innerHTML = html;
          table.dataset.refreshed = String(Date.now());
        }
        table.dataset.checked = String(Date.now());
      })
      .catch(function () {})
      .then(function () {
        setTimeout(refresh, every());
      });
  }
  setTimeout(refresh, every());
})();
