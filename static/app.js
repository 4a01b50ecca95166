// Herald's page script. Every page is complete without it; it adds live
// updates (Server-Sent Events) and local times.
(function () {
  "use strict";

  var timeFormat = null;
  try {
    timeFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
  } catch (e) { /* old browser: keep the UTC text */ }

  // Show times in the visitor's zone; the UTC original stays in the tooltip.
  function localiseTimes(root) {
    if (!timeFormat) { return; }
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      if (el.dataset.localised || el.closest("h3")) { return; } // day headings stay dates
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) { return; }
      el.title = el.textContent;
      el.textContent = timeFormat.format(d);
      el.dataset.localised = "1";
    });
  }

  function setLiveStatus(text, state) {
    var el = document.getElementById("live-status");
    if (!el) { return; }
    el.hidden = false;
    el.textContent = text;
    el.dataset.state = state;
  }

  function announce(text) {
    var el = document.getElementById("live-announcer");
    if (el) { el.textContent = text; }
  }

  // Pages other than the status page are refetched (from the server's
  // in-memory snapshot) and their main content swapped.
  function refetchMain() {
    fetch(window.location.href, { headers: { "Accept": "text/html" }, cache: "no-cache" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("main"), main = document.getElementById("main");
        if (fresh && main) {
          main.innerHTML = fresh.innerHTML;
          localiseTimes(main);
          announce("This page was updated.");
        }
      })
      .catch(function () { /* the next event will try again */ });
  }

  function connect() {
    // Only the public pages, which say which event they show, follow the
    // stream; the console loads this script for its times alone.
    if (!window.EventSource || document.body.dataset.eventId === undefined) { return; }
    var region = document.getElementById("live-region");
    var since = document.body.dataset.eventId || "";
    var url = "/events?types=html" + (since ? "&last_event_id=" + encodeURIComponent(since) : "");
    var source = new EventSource(url);
    source.addEventListener("open", function () { setLiveStatus("Live", "live"); });
    source.addEventListener("error", function () {
      setLiveStatus("Reconnecting…", "reconnecting");
    });
    source.addEventListener("page", function (ev) {
      var msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      document.body.dataset.eventId = String(msg.version);
      if (region) {
        region.innerHTML = msg.html;
        localiseTimes(region);
        announce("Status updated: " + msg.banner);
      } else {
        refetchMain();
      }
    });
    source.addEventListener("reload", function () {
      source.close();
      window.location.reload();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    localiseTimes(document);
    connect();
  });
  // A part of the page another script replaced (the console's refreshed
  // sections) gets local times too.
  document.addEventListener("herald:refreshed", function (ev) { localiseTimes(ev.target); });
})();
