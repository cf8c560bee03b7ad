// oncoreg front-end glue: CSRF header on htmx requests, Vega-Lite charts from JSON specs.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });

  function embedCharts(root) {
    if (typeof window.vegaEmbed !== "function") { return; }
    root.querySelectorAll("[data-vega-spec]").forEach(function (element) {
      if (element.dataset.embedded) { return; }
      var source = document.getElementById(element.dataset.vegaSpec);
      if (!source) { return; }
      element.dataset.embedded = "1";
      var options = { actions: false, renderer: "svg", ast: true };
      if (window.vegaInterpreter) { options.expr = window.vegaInterpreter.expressionInterpreter; }
      window.vegaEmbed(element, JSON.parse(source.textContent), options)
        .then(function () { element.dataset.rendered = "1"; })
        .catch(function (error) { element.textContent = "Chart could not be drawn: " + error; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { embedCharts(document); });
  document.addEventListener("htmx:afterSwap", function (event) { embedCharts(event.target); });
})();
