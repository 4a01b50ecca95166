/* Herald status banner. Put on any site:
     <script src="https://status.example.com/embed.js" async></script>
   While an incident is open it shows a banner linking to it (data-position="top" for the top).
   Reads /api/v2/summary.json; no dependencies; text is set with textContent, never parsed as HTML. */
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || !window.fetch) return;
  var base = me.src.replace(/\/embed\.js([?#].*)?$/, "");
  var top = me.getAttribute("data-position") === "top";
  var colors = { none: "#175cd3", minor: "#8a6100", major: "#b54708", critical: "#b42318" };
  var labels = { investigating: "Investigating", identified: "Identified", monitoring: "Monitoring", resolved: "Resolved" };
  var box, dismissed = "";

  function render(summary) {
    var list = (summary && summary.incidents) || [];
    var inc = list[0];
    var key = inc ? inc.id + "@" + inc.updated_at : "";
    if (!inc || key === dismissed) {
      if (box) box.remove();
      box = null;
      return;
    }
    if (!box) {
      if (!document.body) return; // too early; the next load shows it
      box = document.createElement("div");
      box.setAttribute("role", "status");
      var s = box.style;
      s.position = "fixed"; s.left = "0"; s.right = "0"; s.zIndex = "2147483647";
      s.padding = "10px 44px 10px 16px"; s.color = "#fff"; s.textAlign = "center";
      s.font = "14px/1.4 system-ui, -apple-system, Segoe UI, Roboto, sans-serif";
      s[top ? "top" : "bottom"] = "0";
      document.body.appendChild(box);
    }
    box.style.background = colors[inc.impact] || colors.major;
    box.textContent = "";
    var link = document.createElement("a");
    link.textContent = inc.name;
    if (/^https?:\/\//.test(inc.shortlink)) link.href = inc.shortlink;
    link.style.color = "#fff";
    link.style.fontWeight = "bold";
    var more = list.length > 1 ? " (and " + (list.length - 1) + " more)" : "";
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "\u00d7";
    close.setAttribute("aria-label", "Dismiss");
    var c = close.style;
    c.position = "absolute"; c.right = "8px"; c.top = "50%"; c.transform = "translateY(-50%)";
    c.background = "none"; c.border = "0"; c.color = "#fff"; c.font = "20px/1 sans-serif"; c.cursor = "pointer";
    close.onclick = function () { dismissed = key; render(summary); };
    box.append(link, " \u2014 " + (labels[inc.status] || inc.status) + more, close);
  }

  function load() {
    fetch(base + "/api/v2/summary.json")
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(render, function () {});
  }
  load();
  setInterval(load, 60000);
})();
