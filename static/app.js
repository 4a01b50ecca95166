// Herald's page script. The page is complete without it; this only adds
// comforts: local times next to the UTC ones.
(function () {
  "use strict";
  function localiseTimes(root) {
    var fmt;
    try {
      fmt = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
    } catch (e) { return; }
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      if (el.dataset.localised || el.closest("h3")) { return; } // day headings stay as dates
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) { return; }
      el.title = el.textContent;
      el.textContent = fmt.format(d);
      el.dataset.localised = "1";
    });
  }
  document.addEventListener("DOMContentLoaded", function () { localiseTimes(document); });
  window.herald = { localiseTimes: localiseTimes };
})();
