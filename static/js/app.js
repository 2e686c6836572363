// Growth UI behaviours. Loaded as a file because the CSP forbids inline scripts.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-nav-toggle]");
    if (!toggle) return;
    var sidebar = document.getElementById(toggle.getAttribute("aria-controls"));
    var open = sidebar.classList.toggle("open");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });

  // A builder select whose choice changes the other fields (what, field, operator) redraws
  // the builder. Delegated from the document rather than an hx-trigger on each select:
  // htmx only wires swapped-in elements after its settle delay, and a change made inside
  // that window would otherwise be lost.
  document.addEventListener("change", function (event) {
    var select = event.target.closest("[data-builder-redraw]");
    if (!select || !window.htmx) return;
    window.htmx.ajax("POST", select.getAttribute("data-builder-url"), {
      source: select,
      target: "#builder",
      swap: "outerHTML",
      values: { builder: select.getAttribute("data-builder-redraw") },
    });
  });
})();
