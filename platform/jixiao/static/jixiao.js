// The pages' shared behaviour, served as a file: the Content-Security-Policy allows no inline script and no
// inline event handlers (onclick=…), so every handler is attached here.
//  - the collapsible menu on narrow screens (a button in the top bar shows/hides the nav);
//  - data-confirm="…" on a form or a submit button asks before an irreversible action (the server still checks);
//  - wide tables scroll inside their own box instead of making the whole page scroll sideways.
(function () {
  "use strict";
  var root = document.documentElement;
  // Only with the script running is the nav folded away on narrow screens (the CSS keys on html.js):
  // without it the menu stays open rather than unreachable.
  root.classList.add("js");

  function setupMenu() {
    var button = document.querySelector("[data-menu-toggle]");
    if (!button) { return; }
    var header = button.closest("header") || document.body;
    function show(open) {
      header.classList.toggle("nav-open", open);
      button.setAttribute("aria-expanded", open ? "true" : "false");
    }
    button.addEventListener("click", function () { show(!header.classList.contains("nav-open")); });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && header.classList.contains("nav-open")) { show(false); button.focus(); }
    });
  }

  // Submit events carry the button that was pressed (event.submitter): a form with several actions asks only
  // for the irreversible one. Listening on the document in the capture phase sees every form of the page.
  function confirmed(element) {
    var message = element && element.getAttribute("data-confirm");
    return !message || window.confirm(message);
  }

  function setupConfirm() {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      var submitter = event.submitter;
      if (submitter && submitter.hasAttribute("data-confirm")) {
        if (!confirmed(submitter)) { event.preventDefault(); event.stopImmediatePropagation(); }
      } else if (!confirmed(form)) { event.preventDefault(); event.stopImmediatePropagation(); }
    }, true);
    document.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("a[data-confirm]");
      if (link && !confirmed(link)) { event.preventDefault(); }
    }, true);
  }

  function wrapTables() {
    var tables = document.querySelectorAll("main table");
    for (var i = 0; i < tables.length; i++) {
      var table = tables[i];
      if (table.closest(".table-scroll, .scroll")) { continue; }
      var box = document.createElement("div");
      box.className = "table-scroll";
      table.parentNode.insertBefore(box, table);
      box.appendChild(table);
      if (box.scrollWidth > box.clientWidth) {
        // A region that scrolls must be reachable from the keyboard (arrow keys scroll a focused box).
        box.tabIndex = 0;
        box.setAttribute("role", "region");
        var caption = table.querySelector("caption");
        box.setAttribute("aria-label", caption ? caption.textContent.trim() : "表格（可左右滚动）");
      }
    }
  }

  // An error page's "back" link when the server did not know where the user came from.
  function setupBack() {
    document.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("a[data-history-back]");
      if (link && window.history.length > 1) { event.preventDefault(); window.history.back(); }
    });
  }

  function start() { setupMenu(); setupConfirm(); setupBack(); wrapTables(); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
