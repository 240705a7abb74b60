// Tessera's passkey ceremonies (WebAuthn), for the login, second-factor and account pages.
//
// Served from Tessera's own origin (/assets/passkeys.js), allowed by the pages' CSP as
// `script-src 'self'`: no inline script, no eval. Each page works without it: the forms it
// drives stay hidden, and the password and code forms are plain HTML.
//
// A form marked `data-passkey="sign-in"` or `data-passkey="register"` carries the page's
// hidden fields (the pending sign-in, the CSRF token) and a hidden `credential` field. On
// submit the script posts the form to its `data-options` URL for the ceremony's options (the
// server issues a single-use challenge), asks the browser for the passkey, puts the result
// (`PublicKeyCredential.toJSON()`) into `credential`, and submits the form to the server.
"use strict";

(() => {
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }

  const base64url = {
    decode(text) {
      const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
      return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
    },
    encode(buffer) {
      let text = "";
      for (const byte of new Uint8Array(buffer)) {
        text += String.fromCharCode(byte);
      }
      return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    },
  };

  // The JSON options as the browser API takes them (the Level 3 parse* functions where the
  // browser has them).
  function requestOptions(json) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    return {
      ...json,
      challenge: base64url.decode(json.challenge),
      allowCredentials: (json.allowCredentials || []).map((c) => ({ ...c, id: base64url.decode(c.id) })),
    };
  }

  function creationOptions(json) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    return {
      ...json,
      challenge: base64url.decode(json.challenge),
      user: { ...json.user, id: base64url.decode(json.user.id) },
      excludeCredentials: (json.excludeCredentials || []).map((c) => ({ ...c, id: base64url.decode(c.id) })),
    };
  }

  function credentialJson(credential) {
    if (typeof credential.toJSON === "function") {
      return credential.toJSON();
    }
    const r = credential.response;
    const response = { clientDataJSON: base64url.encode(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = base64url.encode(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = base64url.encode(r.authenticatorData);
      response.signature = base64url.encode(r.signature);
      if (r.userHandle) {
        response.userHandle = base64url.encode(r.userHandle);
      }
    }
    return {
      id: credential.id,
      rawId: base64url.encode(credential.rawId),
      type: credential.type,
      response,
      authenticatorAttachment: credential.authenticatorAttachment,
      clientExtensionResults: credential.getClientExtensionResults(),
    };
  }

  async function fetchOptions(form) {
    const body = new URLSearchParams(new FormData(form));
    body.delete("credential");
    const answer = await fetch(form.dataset.options, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (!answer.ok) {
      throw new Error("the server did not start the ceremony (" + answer.status + ")");
    }
    return answer.json();
  }

  function showError(form, message) {
    const status = form.querySelector("[data-passkey-status]");
    if (status) {
      status.textContent = message;
      status.hidden = false;
    }
  }

  async function finish(form, credential) {
    if (!credential) {
      return;
    }
    form.elements.credential.value = JSON.stringify(credentialJson(credential));
    form.submit();
  }

  async function signIn(form, mediation, signal) {
    const options = requestOptions(await fetchOptions(form));
    await finish(form, await navigator.credentials.get({ publicKey: options, mediation, signal }));
  }

  async function register(form) {
    const options = creationOptions(await fetchOptions(form));
    await finish(form, await navigator.credentials.create({ publicKey: options }));
  }

  async function setUp() {
    for (const form of document.querySelectorAll("form[data-passkey]")) {
      form.hidden = false;
      let conditional = null;
      let conditionalDone = Promise.resolve();
      if (form.dataset.passkey === "sign-in" && form.dataset.conditional === "true"
          && PublicKeyCredential.isConditionalMediationAvailable
          && await PublicKeyCredential.isConditionalMediationAvailable()) {
        // The browser offers passkeys in the username field's autofill.
        conditional = new AbortController();
        conditionalDone = signIn(form, "conditional", conditional.signal).catch(() => {});
      }
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        if (conditional) {
          conditional.abort();
          conditional = null;
        }
        // The server keeps one challenge per sign-in: the autofill's request for options must be
        // over before the button's asks for a new one, or the older could replace the newer.
        const ceremony = conditionalDone.then(() =>
          form.dataset.passkey === "register" ? register(form) : signIn(form, "optional"));
        ceremony.catch((error) => {
          showError(form, "The passkey did not work" + (error && error.name ? " (" + error.name + ")" : "") + ". Try again, or use another way.");
        });
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
