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
})();
