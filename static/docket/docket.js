/* Countdowns: every element with data-due (an ISO 8601 instant) shows the time left, updated
   every 30 seconds without reloading; the table cell of one due within the hour is marked
   docket-urgent (bold), as the server renders it. Without JavaScript the server-rendered text
   remains. */
(function () {
  "use strict";
  function span(ms) {
    var minutes = Math.floor(Math.abs(ms) / 60000);
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    var mins = minutes % 60;
    var parts = [];
    if (days) parts.push(days + " d");
    if (hours || days) parts.push(hours + " h");
    parts.push(mins + " min");
    return parts.join(" ");
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-due]").forEach(function (el) {
      if (el.dataset.met === "true") return;
      var due = Date.parse(el.dataset.due);
      if (isNaN(due)) return;
      var left = due - now;
      el.textContent = left >= 0 ? "in " + span(left) : "overdue by " + span(left);
      el.classList.toggle("docket-overdue", left < 0);
      var cell = el.closest("td");
      if (cell) cell.classList.toggle("docket-urgent", left >= 0 && left <= 3600000);
    });
  }
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSwap", tick);
  setInterval(tick, 30000);
})();

/* Scrollable tables: a container of class docket-table-scroll that is narrower than its table
   gets the class is-overflowing and a visible hint before it ("Scroll sideways …"), updated
   when the window is resized; a table that fits shows neither. */
(function () {
  "use strict";
  function mark() {
    document.querySelectorAll(".docket-table-scroll").forEach(function (box) {
      var hint = box.previousElementSibling;
      if (!hint || !hint.classList.contains("docket-scroll-hint")) {
        hint = document.createElement("p");
        hint.className = "docket-scroll-hint";
        hint.setAttribute("aria-hidden", "true");
        hint.textContent = "Scroll sideways to see every column \u2192";
        box.parentNode.insertBefore(hint, box);
      }
      var overflowing = box.scrollWidth > box.clientWidth + 1;
      box.classList.toggle("is-overflowing", overflowing);
      hint.hidden = !overflowing;
    });
  }
  document.addEventListener("DOMContentLoaded", mark);
  document.addEventListener("htmx:afterSwap", mark);
  window.addEventListener("resize", mark);
})();
