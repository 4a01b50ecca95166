// Herald console script. Every console page works without it; it adds a
// live Markdown preview and fills the message from a template as you pick.
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

  function setupTemplateFill(select) {
    select.addEventListener("change", function () {
      var opt = select.options[select.selectedIndex];
      var form = select.form;
      if (!opt || !opt.value || !form) { return; }
      var body = form.querySelector("textarea[name=body]");
      if (body && opt.getAttribute("data-body") !== null) {
        body.value = opt.getAttribute("data-body");
        body.dispatchEvent(new Event("input"));
      }
      var status = opt.getAttribute("data-status");
      if (status) {
        var radio = form.querySelector("input[name=status][value=\"" + status + "\"]");
        if (radio) { radio.checked = true; }
      }
    });
  }

  // Sections marked data-refresh (the dashboard's drafts) are fetched again
  // every few seconds and replaced when they changed, so a draft an
  // integration opens appears on an open dashboard without a reload.
  function setupRefresh(section) {
    var url = section.getAttribute("data-refresh");
    if (!url || !window.fetch || !window.DOMParser) { return; }
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
          if (!next || next.innerHTML === section.innerHTML) { return; }
          section.innerHTML = next.innerHTML;
          section.dispatchEvent(new CustomEvent("herald:refreshed", { bubbles: true }));
        })
        .catch(function () { busy = false; /* try again at the next tick */ });
    }, 4000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-refresh][id]").forEach(setupRefresh);
    document.querySelectorAll("form[data-preview]").forEach(setupPreview);
    document.querySelectorAll("select.template-fill").forEach(setupTemplateFill);
    var summary = document.querySelector(".error-summary[tabindex]");
    if (summary) { summary.focus(); }
  });
})();
