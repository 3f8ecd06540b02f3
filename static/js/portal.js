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
  // The booking picker: show times in the browser's zone unless the customer chose one before.
  function detectTimezoneSelect(root) {
    var zone;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    root.querySelectorAll("select[data-detect-timezone-select=on]").forEach(function (select) {
      if (zone && select.value !== zone && select.querySelector('option[value="' + zone + '"]')) {
        select.value = zone;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
  }
  document.addEventListener("DOMContentLoaded", function () { detectTimezone(document); detectTimezoneSelect(document); });
  // The booking grid: when only the times were swapped in, mark the day that was clicked.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (!event.target || event.target.id !== "times-slot") return;
    var link = event.detail && event.detail.requestConfig && event.detail.requestConfig.elt;
    var grid = link && link.closest && link.closest(".month-grid");
    if (!grid) return;
    grid.querySelectorAll("td.chosen").forEach(function (cell) { cell.classList.remove("chosen"); });
    grid.querySelectorAll("[aria-current=date]").forEach(function (el) { el.removeAttribute("aria-current"); });
    link.closest("td").classList.add("chosen");
    link.setAttribute("aria-current", "date");
  });
  document.addEventListener("htmx:afterSwap", function (event) { detectTimezone(event.target); });
  // Move focus to the first invalid field after a form comes back with errors.
  document.addEventListener("htmx:afterSwap", function (event) {
    var invalid = event.target.querySelector && event.target.querySelector("[aria-invalid=true]");
    if (invalid) invalid.focus();
  });
})();
