// Draws the plotly figures of a page: every <div class="chart" data-figure="ID"> gets the
// figure in <script type="application/json" id="ID"> (Django's json_script; the CSP forbids
// inline scripts, so the data travels as JSON and the code lives here). Charts swapped in by
// htmx (the team board refreshes itself) are drawn too, and the ones swapped out are purged
// so plotly drops their resize listeners.
//
// Load this file BEFORE plotly.js (both `defer`, in that order): the first part must run
// before plotly.js does.
(function () {
  "use strict";

  // plotly.js styles its hover layers, modebar and layered SVGs with CSS rules it writes into
  // a <style id="plotly.js-style-global"> it creates, and the CSP (style-src 'self') refuses
  // inline <style>: the layers would stack instead of overlapping. plotly.js writes into the
  // `sheet` of whatever element has that id, so hand it an element whose sheet is a
  // constructed stylesheet adopted by the document; rules inserted through the CSSOM are
  // allowed by the CSP.
  if (!document.getElementById("plotly.js-style-global") && "adoptedStyleSheets" in document) {
    var sheet = new CSSStyleSheet();
    document.adoptedStyleSheets = document.adoptedStyleSheets.concat([sheet]);
    var holder = document.createElement("meta");
    holder.id = "plotly.js-style-global";
    Object.defineProperty(holder, "sheet", { value: sheet });
    document.head.appendChild(holder);
  }
  // The bundled maplibre (map traces, unused here) injects its stylesheet inline at load time
  // unless an element with this id exists: a CSP error in the console on every page otherwise.
  // The id is a hash that belongs to plotly.js 4.1.1; check it when updating plotly.js.
  var MAPLIBRE_STYLE = "9f215cf04c5486422605d13261cb87401f4e7763b6296af81e98efbc0130da53";
  if (!document.getElementById(MAPLIBRE_STYLE)) {
    var marker = document.createElement("meta");
    marker.id = MAPLIBRE_STYLE;
    document.head.appendChild(marker);
  }

  var CONFIG = { responsive: true, displaylogo: false };
  // The modebar's tooltips in the page's language: a Chinese page also loads plotly's zh-CN
  // locale (vendor/plotly-locale-zh-cn-*.js, after plotly.js), which registers itself.
  if (/^zh/i.test(document.documentElement.lang || "")) CONFIG.locale = "zh-CN";

  function draw(root) {
    if (!window.Plotly || !root || !root.querySelectorAll) return;
    var charts = root.querySelectorAll(".chart[data-figure]");
    Array.prototype.forEach.call(charts, function (chart) {
      var source = document.getElementById(chart.getAttribute("data-figure"));
      if (!source) return;
      var figure;
      try {
        figure = JSON.parse(source.textContent);
      } catch (error) {
        chart.textContent = chart.getAttribute("data-broken") || "";
        return;
      }
      window.Plotly.newPlot(chart, figure.data || [], figure.layout || {}, CONFIG);
    });
  }

  function purge(root) {
    if (!window.Plotly || !root || !root.querySelectorAll) return;
    Array.prototype.forEach.call(root.querySelectorAll(".chart.js-plotly-plot"), function (chart) {
      window.Plotly.purge(chart);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    draw(document);
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.shouldSwap) purge(event.detail.target);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    draw(event.detail.elt);
  });
})();
