// Fill empty timezone fields with the browser's IANA timezone: the digest settings form, and the
// hidden fields of the sign-up form and Follow buttons (so a new reader's first digest comes at
// their own hour). htmx:load covers buttons swapped in after a click.
(function () {
  "use strict";
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone) { return; }
  function fill(root) {
    (root || document).querySelectorAll("input[data-browser-timezone]").forEach(function (input) {
      if (!input.value) { input.value = zone; }
    });
  }
  fill(document);
  document.addEventListener("htmx:load", function (event) { fill(event.target); });
})();
