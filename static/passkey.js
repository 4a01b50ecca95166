// Herald passkeys: the two requests of a WebAuthn ceremony around the
// browser's navigator.credentials. A form marked data-passkey="create"
// (add a passkey) or "get" (sign in with one) posts its fields to its
// action, which answers with the options for the browser; the browser's
// answer goes as JSON to its data-finish, which answers where to go next
// (or which form of the page to send on).
// Without passkey support the forms stay hidden and what says so shows.
(function () {
  "use strict";

  function toBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out.buffer;
  }

  function toText(buf) {
    var bytes = new Uint8Array(buf), s = "";
    for (var i = 0; i < bytes.length; i++) { s += String.fromCharCode(bytes[i]); }
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // The server's options carry bytes as base64url; the browser wants them
  // as buffers.
  function options(kind, o) {
    var pk = o.publicKey;
    pk.challenge = toBuf(pk.challenge);
    if (pk.user) { pk.user.id = toBuf(pk.user.id); }
    (pk.excludeCredentials || []).concat(pk.allowCredentials || []).forEach(function (c) { c.id = toBuf(c.id); });
    return kind === "create" ? { publicKey: pk } : { publicKey: pk, mediation: o.mediation };
  }

  // The browser's credential as the server reads it (the WebAuthn JSON
  // encoding, as PublicKeyCredential.toJSON gives where it exists).
  function answer(cred) {
    var r = cred.response;
    var out = { id: cred.id, rawId: toText(cred.rawId), type: cred.type, clientExtensionResults: cred.getClientExtensionResults(),
      authenticatorAttachment: cred.authenticatorAttachment || undefined, response: { clientDataJSON: toText(r.clientDataJSON) } };
    if (r.attestationObject) {
      out.response.attestationObject = toText(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = toText(r.authenticatorData);
      out.response.signature = toText(r.signature);
      if (r.userHandle) { out.response.userHandle = toText(r.userHandle); }
    }
    return out;
  }

  function post(url, token, body, type) {
    return fetch(url, { method: "POST", credentials: "same-origin", body: body,
      headers: { "Content-Type": type, "X-CSRF-Token": token, "Accept": "application/json" } })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) {
          if (!r.ok) { throw new Error((j.error && j.error.message) || "That passkey was not accepted. Try again."); }
          return j;
        });
      });
  }

  function setup(form) {
    var kind = form.getAttribute("data-passkey");
    var finish = form.getAttribute("data-finish");
    var token = form.querySelector("input[name=csrf_token]").value;
    var shown = form.querySelector("[data-passkey-error]");
    var button = form.querySelector("button[type=submit]");
    function fail(msg) {
      shown.textContent = msg;
      shown.hidden = false;
      button.disabled = false;
    }
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      shown.hidden = true;
      button.disabled = true;
      var fields = new URLSearchParams(new FormData(form));
      post(form.action, token, fields.toString(), "application/x-www-form-urlencoded")
        .then(function (o) {
          var opts = options(kind, o);
          return kind === "create" ? navigator.credentials.create(opts) : navigator.credentials.get(opts);
        })
        .then(function (cred) {
          var body = { credential: answer(cred), name: fields.get("name") || "", pending: fields.get("pending") || "", next: fields.get("next") || "" };
          return post(finish, token, JSON.stringify(body), "application/json");
        })
        .then(function (j) {
          // Confirming before an action: the page's carried form goes on.
          if (j.resubmit) { document.getElementById(j.resubmit).submit(); return; }
          window.location.assign(j.redirect);
        })
        .catch(function (err) {
          // The person closed the browser's prompt, or it timed out.
          if (err && err.name === "NotAllowedError") { fail("No passkey was used. Try again when you are ready."); return; }
          if (err && err.name === "InvalidStateError") { fail("This authenticator already holds one of your passkeys."); return; }
          fail(err && err.message ? err.message : "That passkey was not accepted. Try again.");
        });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.PublicKeyCredential || !window.fetch) { return; }
    document.querySelectorAll("[data-passkey-way]").forEach(function (el) { el.hidden = false; });
    document.querySelectorAll("[data-passkey-none]").forEach(function (el) { el.hidden = true; });
    document.querySelectorAll("form[data-passkey]").forEach(setup);
  });
})();
