// Herald's page script. Every page is complete without it; it adds live
// updates (Server-Sent Events), local times and keys to step through the
// days of an uptime bar.
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

  // The indicator says "Live" only once the stream is open, and
  // "Reconnecting…" only after it was: a page that never connected (no
  // script, a static mirror) claims nothing.
  var everConnected = false;
  function setLiveStatus(text, state) {
    var el = document.getElementById("live-status");
    if (!el) { return; }
    el.dataset.state = state;
    if (state === "live") { everConnected = true; }
    if (!everConnected) { return; }
    el.hidden = false;
    el.textContent = text;
  }

  function announce(text) {
    var el = document.getElementById("live-announcer");
    if (el) { el.textContent = text; }
  }

  // refetch loads url (served from the server's in-memory snapshot) and
  // puts its element id in place of the same element here. Pages other
  // than the status page are brought up to date this way.
  function refetch(url, id, message) {
    fetch(url, { headers: { "Accept": "text/html" }, cache: "no-cache" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(id);
        var here = document.getElementById(id);
        if (fresh && here) {
          here.innerHTML = fresh.innerHTML;
          localiseTimes(here);
          keyDays(here);
          announce(message);
        }
      })
      .catch(function () { /* the next event will try again */ });
  }

  // A live update sends an uptime bar that has not changed as its key
  // alone, an empty <div class="uptime" data-bar="KEY">: the page keeps the
  // bar it shows under that key. A page without it (it missed an update)
  // takes the region from the page instead.
  function applyRegion(region, html, banner) {
    var next = document.createElement("div");
    next.innerHTML = html;
    var missing = false;
    next.querySelectorAll(".uptime[data-bar]").forEach(function (slot) {
      if (slot.firstElementChild) { return; } // sent whole
      var shown = region.querySelector('.uptime[data-bar="' + slot.dataset.bar + '"]');
      if (shown) { slot.replaceWith(shown); } else { missing = true; }
    });
    if (missing) { refetch("/", "live-region", "Status updated: " + banner); return; }
    region.textContent = "";
    while (next.firstChild) { region.appendChild(next.firstChild); }
    localiseTimes(region);
    keyDays(region);
    announce("Status updated: " + banner);
  }

  function connect() {
    // Only pages served from the snapshot follow the stream. A form, or
    // what a form answered ("Check your inbox"), would be replaced by what
    // its address gives on a fresh load.
    if (!document.body.dataset.live) { setLiveStatus("", "off"); return; }
    if (!window.EventSource) { return; }
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
        applyRegion(region, msg.html, msg.banner);
      } else {
        refetch(window.location.href, "main", "This page was updated.");
      }
    });
    source.addEventListener("reload", function () {
      source.close();
      window.location.reload();
    });
  }

  // An uptime bar is one stop for the Tab key (today); the arrow keys,
  // Home and End move along its days, each of which says its date and
  // status. Without the script a tap or a hover shows them.
  function keyDays(root) {
    root.querySelectorAll("ol.days").forEach(function (bar) {
      var days = bar.children;
      if (!days.length || bar.dataset.keyed) { return; }
      bar.dataset.keyed = "1";
      days[days.length - 1].tabIndex = 0;
      bar.addEventListener("keydown", function (ev) {
        var i = Array.prototype.indexOf.call(days, document.activeElement);
        if (i < 0) { return; }
        var next = { ArrowLeft: i - 1, ArrowRight: i + 1, Home: 0, End: days.length - 1 }[ev.key];
        if (next === undefined || next < 0 || next >= days.length) { return; }
        ev.preventDefault();
        bar.dataset.keys = "1"; // the tip follows the keys, not the pointer
        days[i].tabIndex = -1;
        days[next].tabIndex = 0;
        days[next].focus();
      });
      bar.addEventListener("mousemove", function () { delete bar.dataset.keys; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    localiseTimes(document);
    keyDays(document);
    connect();
  });
  // A part of the page another script replaced (the console's refreshed
  // sections) gets local times too.
  document.addEventListener("herald:refreshed", function (ev) { localiseTimes(ev.target); });
})();
