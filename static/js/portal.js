// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  function detectTimezone(root) {
    var zone;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    if (!zone) return;
    root.querySelectorAll("input[data-detect-timezone]").forEach(function (input) {
      if (!input.value || input.value === "UTC") input.value = zone;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { detectTimezone(document); });
  document.addEventListener("htmx:afterSwap", function (event) { detectTimezone(event.target); });
  // Move focus to the first invalid field after a form comes back with errors.
  document.addEventListener("htmx:afterSwap", function (event) {
    var invalid = event.target.querySelector && event.target.querySelector("[aria-invalid=true]");
    if (invalid) invalid.focus();
  });
})();
