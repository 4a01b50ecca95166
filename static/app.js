// Herald's page script. Every page is complete without it; it adds live
// updates (Server-Sent Events), local times and keys to step through the
// days of an uptime bar.
(function () {
  "use strict";

  // A page other than the default lives under /p/{slug}: its front page and
  // its live stream are there.
  function pageRoot() { return document.body.dataset.root || ""; }

  var timeFormat = null;
  try {
    timeFormat = new Intl.DateTimeFormat(document.documentElement.lang || undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
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

  // The words the script says are the page's, in its language: the
  // layout puts them on the elements that show them.
  function words(id, key, fallback) {
    var el = document.getElementById(id);
    return (el && el.dataset[key]) || fallback;
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

  // The status page's live region is made of parts, each keyed by what it
  // shows (data-k: a hash of its content). An update sends the region with
  // every part this page shows already left out, as an empty
  // <template data-k="KEY">, and the element here under that key is put
  // back in its place: the same node, so an opened group, its loaded bars,
  // local times and keyboard state stay. A part sent whole that this page
  // holds under the same key is kept the same way. A page that lacks a part
  // it is sent the key of (it missed an update) takes the whole region from
  // the page instead.
  function mergeParts(region, html) {
    var next = document.createElement("div");
    next.innerHTML = html;
    var shown = {};
    region.querySelectorAll("[data-k]").forEach(function (el) { shown[el.dataset.k] = el; });
    var missing = false;
    next.querySelectorAll("template[data-k]").forEach(function (el) {
      el.dataset.k.split(" ").forEach(function (k) { if (!shown[k]) { missing = true; } });
    });
    if (missing) { return null; } // before anything is moved out of the page
    next.querySelectorAll("[data-k]").forEach(function (el) {
      if (!next.contains(el)) { return; } // inside a part put back already
      if (el.tagName === "TEMPLATE") { // parts side by side share one
        var run = document.createDocumentFragment();
        el.dataset.k.split(" ").forEach(function (k) { run.appendChild(shown[k]); });
        el.replaceWith(run);
        return;
      }
      var here = shown[el.dataset.k];
      if (here) { el.replaceWith(here); return; }
      keepGroupState(el);
    });
    return next;
  }

  // A group that changed comes anew, open when something in it is not
  // operational (data-open). Unless that changed, it stays as the visitor
  // left it, open or closed.
  function keepGroupState(el) {
    if (el.tagName !== "DETAILS" || !el.id) { return; }
    var was = document.getElementById(el.id);
    if (was && was.tagName === "DETAILS" && (was.dataset.open || "") === (el.dataset.open || "")) {
      el.open = was.open;
    }
  }

  // applyRegion puts html (the region, in parts) in the region and tells
  // screen readers; whatever had focus in the region keeps it.
  function applyRegion(region, html, banner, version) {
    var focused = document.activeElement;
    var focusedIn = focused && focused !== region && region.contains(focused) ? focusPath(focused) : null;
    var next = mergeParts(region, html);
    if (!next) { refetchRegion(region, banner, version, 0); return; }
    region.textContent = "";
    while (next.firstChild) { region.appendChild(next.firstChild); }
    settle(region);
    if (focusedIn) { refocus(focused, focusedIn); }
    announce(words("live-announcer", "statusUpdated", "Status updated:") + " " + banner);
  }

  // refetchRegion takes the region from the page, parts kept by key as in
  // an update. The page is served from the snapshot, which may be a moment
  // behind the update that sent us here: then it asks again.
  function refetchRegion(region, banner, version, tries) {
    fetch(pageRoot() + "/", { headers: { "Accept": "text/html" }, cache: "no-cache" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("live-region");
        if (!fresh) { return; }
        if (Number(doc.body.dataset.eventId) < version && tries < 5) {
          setTimeout(function () { refetchRegion(region, banner, version, tries + 1); }, 200 * (tries + 1));
          return;
        }
        applyRegion(region, fresh.innerHTML, banner, 0);
      })
      .catch(function () { /* the next event will try again */ });
  }

  // settle does what every new part needs: local times, keys for the days,
  // the components of any open group that has not got them, and the bars an
  // update sent as slots (data-lazy) once they come into view.
  function settle(root) {
    localiseTimes(root);
    keyDays(root);
    root.querySelectorAll("details.group[open]").forEach(loadGroup);
    root.querySelectorAll(".uptime[data-lazy]").forEach(function (slot) {
      if (lazyBars) { lazyBars.observe(slot); } else { loadBars(slot.dataset.lazy); }
    });
  }

  // A group that an update opened comes with its components' bars as
  // slots: every open page asking its group's page for them at once would
  // be a crowd of its own, so each asks when it shows them.
  var lazyBars = window.IntersectionObserver ? new IntersectionObserver(function (entries) {
    entries.forEach(function (e) {
      if (e.isIntersecting) { lazyBars.unobserve(e.target); loadBars(e.target.dataset.lazy); }
    });
  }) : null;
  var loadingBars = {};
  function loadBars(url) {
    if (loadingBars[url]) { return; }
    loadingBars[url] = true;
    fetchGroupPage(url, function (doc) {
      delete loadingBars[url];
      if (!doc) { return; }
      document.querySelectorAll(".uptime[data-lazy]").forEach(function (slot) {
        var row = slot.dataset.lazy === url && slot.closest(".component[id]");
        var fresh = row && doc.getElementById(row.id);
        var bar = fresh && fresh.querySelector(".uptime");
        if (!bar) { return; }
        if (lazyBars) { lazyBars.unobserve(slot); }
        bar = document.importNode(bar, true);
        slot.replaceWith(bar);
        localiseTimes(bar);
        keyDays(bar);
      });
    });
  }

  function fetchGroupPage(url, done) {
    fetch(url, { headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { done(html ? new DOMParser().parseFromString(html, "text/html") : null); })
      .catch(function () { done(null); });
  }

  // focusPath says where focus was, to find it again when the element that
  // had it was replaced: its group's summary, or the same day of the same
  // component's bar.
  function focusPath(el) {
    var row = el.closest(".component[id]");
    var days = el.closest("ol.days");
    if (row && days) { return { row: row.id, day: Array.prototype.indexOf.call(days.children, el) }; }
    var group = el.closest("details.group[id]");
    if (group && el.tagName === "SUMMARY") { return { group: group.id }; }
    return {};
  }

  function refocus(el, path) {
    if (!el.isConnected) {
      var row = path.row && document.getElementById(path.row);
      var group = path.group && document.getElementById(path.group);
      el = null;
      if (row) {
        var days = row.querySelector("ol.days");
        el = days && days.children[path.day];
        if (el) {
          Array.prototype.forEach.call(days.children, function (d) { d.tabIndex = -1; });
          el.tabIndex = 0;
        }
      } else if (group) {
        el = group.querySelector("summary");
      }
    }
    if (el) { el.focus({ preventScroll: true }); }
  }

  // A closed group is its summary and a link to its own page; opened, it
  // takes its components and their bars from there (without the script,
  // the link is followed).
  function loadGroup(details) {
    var more = details.querySelector(".group-more a");
    if (!more || details.dataset.loading) { return; }
    details.dataset.loading = "1";
    fetchGroupPage(more.href, function (doc) {
      delete details.dataset.loading;
      var fresh = doc && doc.getElementById(details.id);
      var body = fresh && fresh.querySelector(".group-body");
      var here = details.querySelector(".group-more");
      if (!body || !here) { return; }
      body = document.importNode(body, true);
      here.replaceWith(body);
      localiseTimes(body);
      keyDays(body);
    });
  }
  // toggle does not bubble; it is caught on its way down.
  document.addEventListener("toggle", function (ev) {
    var el = ev.target;
    if (el.tagName === "DETAILS" && el.classList.contains("group") && el.open) { loadGroup(el); }
  }, true);

  function connect() {
    // Only pages served from the snapshot follow the stream. A form, or
    // what a form answered ("Check your inbox"), would be replaced by what
    // its address gives on a fresh load.
    if (!document.body.dataset.live) { setLiveStatus("", "off"); return; }
    if (!window.EventSource) { return; }
    var region = document.getElementById("live-region");
    var since = document.body.dataset.eventId || "";
    var url = pageRoot() + "/events?types=html&parts=1&lang=" + encodeURIComponent(document.documentElement.lang) +
      (since ? "&last_event_id=" + encodeURIComponent(since) : "");
    var source = new EventSource(url);
    source.addEventListener("open", function () { setLiveStatus(words("live-status", "liveText", "Live"), "live"); });
    source.addEventListener("error", function () {
      setLiveStatus(words("live-status", "reconnectingText", "Reconnecting…"), "reconnecting");
    });
    source.addEventListener("page", function (ev) {
      var msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      document.body.dataset.eventId = String(msg.version);
      if (region) {
        applyRegion(region, msg.html, msg.banner, msg.version);
      } else {
        refetch(window.location.href, "main", words("live-announcer", "pageUpdated", "This page was updated."));
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
    document.querySelectorAll("details.group[open]").forEach(loadGroup);
    connect();
  });
  // A part of the page another script replaced (the console's refreshed
  // sections) gets local times too.
  document.addEventListener("herald:refreshed", function (ev) { localiseTimes(ev.target); });
})();
