// Starts Swagger UI on this listener's own API description (the page names
// it in data-spec). Nothing is fetched from elsewhere: the validator badge,
// which would send the document to an outside service, is turned off.
"use strict";
(function () {
  var root = document.getElementById("console");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-spec"),
    domNode: root,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    validatorUrl: null,
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0
  });
})();
