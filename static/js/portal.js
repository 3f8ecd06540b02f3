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
  // A guest's ticket page shows times in UTC until it knows the browser's zone: ask once with ?tz=.
  function detectTimezonePage() {
    var note = document.querySelector("[data-detect-zone]"), zone;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    if (!note || !zone || zone === note.getAttribute("data-detect-zone")) return;
    var url = new URL(window.location.href);
    if (url.searchParams.has("tz")) return;  // asked already: the server did not know that zone
    url.searchParams.set("tz", zone);
    window.location.replace(url.toString());
  }
  document.addEventListener("DOMContentLoaded", function () { detectTimezone(document); detectTimezoneSelect(document); detectTimezonePage(); });
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
  // Results of actions (WCAG 4.1.3): focus moves to what the action produced, and the polite
  // #announcer says it once. htmx swaps mark their result with data-result (its text is what is said);
  // an action answered with a reload or redirect arrives with a flash in #messages, which gets focus.
  function focusOn(el) {
    if (!el.hasAttribute("tabindex")) el.setAttribute("tabindex", "-1");
    el.focus();
  }
  function announce(text) {
    var region = document.getElementById("announcer");
    if (!region || !text) return;
    region.textContent = "";
    setTimeout(function () { region.textContent = text; }, 100);  // a change, so it is spoken
  }
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || !target.querySelector) return;
    var result = target.matches("[data-result]") ? target : target.querySelector("[data-result]");
    if (result && !target.querySelector("[aria-invalid=true]")) {
      focusOn(result);
      announce(result.getAttribute("data-result"));
    }
    var times = target.id === "times-slot" && target.querySelector("[data-times-result]");
    if (times) announce(times.getAttribute("data-times-result"));
  });
  document.addEventListener("DOMContentLoaded", function () {
    var flash = document.querySelector("#messages .flash");
    var active = document.activeElement;
    if (flash && (!active || active === document.body) && !document.querySelector("[autofocus]")) focusOn(flash);
  });
  // The booking grid: one Tab from the chosen day reaches its times (they follow the whole grid in
  // the page), and Shift+Tab from the first time goes back to the day.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Tab" || event.altKey || event.ctrlKey || event.metaKey) return;
    var el = event.target;
    if (!el.closest) return;
    var picker = el.closest(".picker");
    if (!picker) return;
    var first = picker.querySelector("#times a") || picker.querySelector("#times h3");
    var day = picker.querySelector("td.chosen a.day");
    if (!event.shiftKey && first && el === day) { event.preventDefault(); focusOn(first); }
    else if (event.shiftKey && day && el === picker.querySelector("#times a")) { event.preventDefault(); day.focus(); }
  });
  // Move focus to the first invalid field after a form comes back with errors.
  document.addEventListener("htmx:afterSwap", function (event) {
    var invalid = event.target.querySelector && event.target.querySelector("[aria-invalid=true]");
    if (invalid) invalid.focus();
  });
  // Console: "select all" checkboxes for bulk actions.
  document.addEventListener("change", function (event) {
    var all = event.target.closest && event.target.closest("[data-select-all]");
    if (!all) return;
    var form = all.form || all.closest("form");
    form.querySelectorAll('input[type=checkbox][name="' + all.dataset.selectAll + '"]').forEach(function (box) {
      box.checked = all.checked;
    });
  });
  // Console: a canned reply is inserted at the cursor instead of reloading the page.
  function insertAtCursor(area, text) {
    var start = area.selectionStart || 0, end = area.selectionEnd || 0;
    area.value = area.value.slice(0, start) + text + area.value.slice(end);
    area.selectionStart = area.selectionEnd = start + text.length;
    area.dispatchEvent(new Event("input", { bubbles: true }));
    area.focus();
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-canned-insert]");
    if (!button) return;
    var select = button.form.querySelector("[data-canned-url]");
    var area = document.querySelector(".console-reply textarea[name=body]");
    if (!select || !select.value || !area) return;
    event.preventDefault();
    fetch(select.dataset.cannedUrl + encodeURIComponent(select.value), { headers: { "X-Canned-Text": "1" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (text) { insertAtCursor(area, text); select.value = ""; })
      .catch(function () { button.form.submit(); });
  });
  // Console: tell other agents on this ticket that someone is typing (at most every 4 s).
  var lastTyping = 0;
  document.addEventListener("input", function (event) {
    var form = event.target.closest && event.target.closest("form[data-typing-url]");
    if (!form || event.target.name !== "body") return;
    var now = Date.now();
    if (now - lastTyping < 4000) return;
    lastTyping = now;
    var token = (document.body.getAttribute("hx-headers") || "").match(/"X-CSRFToken": "([^"]+)"/);
    fetch(form.dataset.typingUrl, { method: "POST", credentials: "same-origin",
      headers: token ? { "X-CSRFToken": token[1] } : {} }).catch(function () {});
  });
})();
