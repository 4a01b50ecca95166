// Herald console script. Every console page works without it; it adds a
// live Markdown preview, inserts a template where the cursor is, writes
// maintenance times in the browser's zone and refreshes the dashboard.
// Times are shown in the reader's zone by the public pages' app.js.
(function () {
  "use strict";

  function debounce(fn, ms) {
    var t = null;
    return function () {
      clearTimeout(t);
      t = setTimeout(fn, ms);
    };
  }

  // Live preview: the server renders (the same sanitiser as the public
  // page), so what you see is what visitors will see.
  function setupPreview(form) {
    var url = form.getAttribute("data-preview");
    var body = form.querySelector("textarea[name=body]");
    var box = document.getElementById("preview");
    var out = document.getElementById("preview-body");
    var token = form.querySelector("input[name=csrf_token]");
    if (!url || !body || !box || !out || !token || !window.fetch) { return; }
    var update = debounce(function () {
      var data = new URLSearchParams();
      data.set("body", body.value);
      fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": token.value },
        body: data.toString(),
        credentials: "same-origin"
      }).then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html === null) { return; }
          out.innerHTML = html;
          box.hidden = body.value.trim() === "";
        })
        .catch(function () { /* the Preview button still works */ });
    }, 300);
    body.addEventListener("input", update);
  }

  // "Use template" inserts the chosen template's text at the cursor,
  // keeping what was typed, and clears the choice, as the server does.
  // Without this script the button sends the form back with the text
  // added after the message.
  function setupTemplateFill(select) {
    var form = select.form;
    var body = form && form.querySelector("textarea[name=body]");
    var button = form && form.querySelector("button.use-template");
    if (!body || !button) { return; }
    // A textarea keeps its cursor when it loses focus; until the
    // commander has been in it, the text goes at the end. Selected text is
    // kept too: the template goes after it.
    var touched = false;
    ["focus", "input", "keyup", "mouseup", "select"].forEach(function (name) {
      body.addEventListener(name, function () { touched = true; });
    });
    button.addEventListener("click", function (ev) {
      var opt = select.options[select.selectedIndex];
      if (!opt || !opt.value || opt.getAttribute("data-body") === null) { return; } // the server says to choose one
      ev.preventDefault();
      var text = opt.getAttribute("data-body");
      var at = touched ? body.selectionEnd : body.value.length;
      var before = body.value.slice(0, at), after = body.value.slice(at);
      if (before && !/\s$/.test(before)) { text = (at === body.value.length ? "\n\n" : " ") + text; }
      if (after && !/^\s/.test(after)) { text += " "; }
      body.value = before + text + after;
      var end = before.length + text.length;
      body.focus();
      body.setSelectionRange(end, end);
      body.dispatchEvent(new Event("input"));
      var status = opt.getAttribute("data-status");
      if (status) {
        var radio = form.querySelector("input[name=status][value=\"" + status + "\"]");
        if (radio) { radio.checked = true; }
      }
      var title = form.querySelector("input[name=name]");
      if (title && !title.value && opt.getAttribute("data-title")) { title.value = opt.getAttribute("data-title"); }
      select.value = "";
    });
  }

  // The maintenance form's times are in the zone its tz field names: UTC
  // from the server, the browser's own once this runs. Times the server
  // filled in (in UTC) are moved to the browser's zone as it switches.
  function setupZone(select) {
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return; }
    if (!zone || zone === "UTC" || select.value !== "UTC") { return; }
    var opt = Array.prototype.find.call(select.options, function (o) { return o.value === zone; });
    if (!opt) {
      opt = new Option(zone + " (this browser)", zone);
      select.add(opt);
    }
    select.value = zone;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    select.form.querySelectorAll("input[type=datetime-local]").forEach(function (input) {
      if (!input.value) { return; }
      var d = new Date(input.value + "Z");
      if (isNaN(d)) { return; }
      input.value = d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" + pad(d.getMinutes());
    });
  }

  // Sections marked data-refresh (the dashboard's drafts) are fetched again
  // every few seconds and replaced when they changed, so a draft an
  // integration opens appears on an open dashboard without a reload.
  function setupRefresh(section) {
    var url = section.getAttribute("data-refresh");
    if (!url || !window.fetch || !window.DOMParser) { return; }
    // What the server sent last, to compare with: the section on the page
    // differs from it once its times are localised. (This script runs
    // before app.js localises them.)
    var last = section.innerHTML;
    var busy = false;
    setInterval(function () {
      if (busy || document.hidden) { return; }
      busy = true;
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          busy = false;
          if (html === null) { return; }
          var next = new DOMParser().parseFromString(html, "text/html").getElementById(section.id);
          if (!next || next.innerHTML === last) { return; }
          last = next.innerHTML;
          section.innerHTML = last;
          section.dispatchEvent(new CustomEvent("herald:refreshed", { bubbles: true }));
        })
        .catch(function () { busy = false; /* try again at the next tick */ });
    }, 4000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-refresh][id]").forEach(setupRefresh);
    document.querySelectorAll("form[data-preview]").forEach(setupPreview);
    document.querySelectorAll("select.template-fill").forEach(setupTemplateFill);
    document.querySelectorAll("select.tz-field").forEach(setupZone);
    var summary = document.querySelector(".error-summary[tabindex]");
    if (summary) { summary.focus(); }
  });
})();
