// Swagger UI for /docs, from the vendored bundle (no CDN, no inline script).
(function () {
  var element = document.getElementById("swagger-ui");
  var csrf = null;
  window.ui = SwaggerUIBundle({
    url: element.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    requestInterceptor: function (request) {
      if (csrf) { request.headers["X-CSRF-Token"] = csrf; }
      return request;
    },
  });
  fetch("/api/me", { credentials: "same-origin" })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (me) { if (me) { csrf = me.csrf_token; } });
})();
