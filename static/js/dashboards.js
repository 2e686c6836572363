// The dashboards refresh their body every 30 seconds (htmx swaps it in place). A table view
// or "How is this computed?" the reader has opened must stay open across the swap: remember
// the open <details> by id before it, open them again after.
(function () {
  "use strict";
  var open = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "dashboard") return;
    open = Array.prototype.map.call(target.querySelectorAll("details[open][id]"), function (d) {
      return d.id;
    });
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "dashboard" || !open) return;
    open.forEach(function (id) {
      var details = document.getElementById(id);
      if (details) details.open = true;
    });
    open = null;
  });
})();
