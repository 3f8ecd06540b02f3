// Keyboard shortcuts for the agent console (back office only). Every action also has a button or
// link; this file only makes them quicker. Keys are ignored while typing in a field.
//   j / k   next / previous ticket (queue: moves the highlight; ticket page: the queue's neighbours)
//   o, Enter open the highlighted ticket        x  select the highlighted ticket for bulk actions
//   r       reply        n  internal note        a  assign to me ("Take it")
//   g then q go to the queue                    ?  show the list of shortcuts
(function () {
  "use strict";
  var STORE = "console-queue";  // the last queue's ticket URLs, for j/k on a ticket page
  var pendingG = 0;

  function typing(target) {
    if (!target || !target.closest) return false;
    return !!target.closest("input, textarea, select, [contenteditable=''], [contenteditable=true]");
  }
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("tr[data-ticket-url]")); }
  function current(list) {
    for (var i = 0; i < list.length; i++) { if (list[i].classList.contains("is-current")) return i; }
    return -1;
  }
  function highlight(list, index) {
    list.forEach(function (row) { row.classList.remove("is-current"); row.removeAttribute("aria-current"); });
    var row = list[index];
    if (!row) return;
    row.classList.add("is-current");
    row.setAttribute("aria-current", "true");
    var link = row.querySelector("a.subject") || row.querySelector("a");
    if (link) link.focus();
  }
  function remember() {
    var list = rows();
    if (!list.length) return;
    try {
      sessionStorage.setItem(STORE, JSON.stringify(list.map(function (row) { return row.dataset.ticketUrl; })));
    } catch (e) { /* private mode: j/k on ticket pages just do nothing */ }
  }
  function neighbour(step) {
    var urls;
    try { urls = JSON.parse(sessionStorage.getItem(STORE) || "[]"); } catch (e) { return; }
    var here = urls.indexOf(window.location.pathname);
    var next = here < 0 ? null : urls[here + step];
    if (next) window.location.assign(next);
  }
  function move(step) {
    var list = rows();
    if (!list.length) { neighbour(step); return; }
    var index = current(list);
    highlight(list, index < 0 ? 0 : Math.min(Math.max(index + step, 0), list.length - 1));
  }
  function openCurrent() {
    var list = rows(), index = current(list);
    if (index >= 0) window.location.assign(list[index].dataset.ticketUrl);
  }
  function toggleCurrent() {
    var list = rows(), index = current(list);
    var box = index >= 0 && list[index].querySelector("input[type=checkbox]");
    if (box) box.checked = !box.checked;
  }
  function write(kind) {
    var area = document.querySelector(".console-reply textarea[name=body]");
    if (!area) return;
    var radio = document.querySelector('.console-reply input[name=kind][value="' + kind + '"]');
    if (radio) { radio.checked = true; radio.dispatchEvent(new Event("change", { bubbles: true })); }
    area.focus();
  }
  function take() {
    var form = document.querySelector("form[data-shortcut=take]");
    if (form) form.requestSubmit ? form.requestSubmit() : form.submit();
  }
  function goQueue() {
    var link = document.querySelector("[data-shortcut-queue]");
    if (link) window.location.assign(link.href);
  }
  function showHelp() {
    var dialog = document.getElementById("shortcuts");
    if (dialog && !dialog.open) dialog.showModal();
  }

  document.addEventListener("DOMContentLoaded", function () {
    remember();
    document.querySelectorAll("[data-shortcuts-open]").forEach(function (button) { button.hidden = false; });
  });
  document.addEventListener("htmx:afterSwap", remember);
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-shortcuts-open]")) showHelp();
    if (event.target.closest && event.target.closest("[data-shortcuts-close]")) document.getElementById("shortcuts").close();
  });
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var dialog = document.getElementById("shortcuts");
    if (dialog && dialog.open) return;  // Escape closes it (the browser does)
    var key = event.key;
    if (pendingG && Date.now() - pendingG < 1500) {
      pendingG = 0;
      if (key === "q") { event.preventDefault(); goQueue(); }
      return;
    }
    pendingG = 0;
    var actions = {
      j: function () { move(1); }, k: function () { move(-1); },
      o: openCurrent, x: toggleCurrent,
      r: function () { write("public"); }, n: function () { write("internal"); },
      a: take, "?": showHelp,
      g: function () { pendingG = Date.now(); }
    };
    if (key === "Enter" && event.target.closest && event.target.closest("tr.is-current") && !event.target.closest("a, button")) {
      openCurrent();
      return;
    }
    if (Object.prototype.hasOwnProperty.call(actions, key)) {
      event.preventDefault();
      actions[key]();
    }
  });
})();
