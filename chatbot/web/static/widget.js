/*
 * Document chat widget. One tag adds a floating chat bubble to any page:
 *
 *   <script src="https://chat.example.org/widget.js" defer
 *           data-token="optional bearer token" data-title="Ask the article"></script>
 *
 * It talks to /api/ask on the origin (and root path) the script itself was loaded from, so that
 * origin must list the page's origin in CHATBOT_CORS_ORIGINS; when it does not, the widget says so
 * (and the server logs the refused origin once). With data-mode="inline" it fills
 * the page instead (this is what /embed uses). All text is inserted with textContent.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) {
    var all = document.querySelectorAll("script[src]");
    for (var i = all.length - 1; i >= 0; i--) {
      if (/\/widget\.js(\?|#|$)/.test(all[i].src)) { script = all[i]; break; }
    }
  }
  if (!script) { return; }

  var base = new URL(".", script.src).href;          // e.g. https://host/chat/
  var apiAsk = base + "api/ask";
  var inline = script.getAttribute("data-mode") === "inline";
  var title = script.getAttribute("data-title") || "Ask the document";
  var maxHistory = parseInt(script.getAttribute("data-history") || "20", 10);
  var token = script.getAttribute("data-token") || "";
  if (!token && inline) {
    var m = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
    if (m) { token = decodeURIComponent(m[1]); }
  }

  var CSS = [
    ":host{all:initial}",
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}",
    ".bubble{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;",
    "background:#2563eb;color:#fff;font-size:26px;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483646}",
    ".panel{display:flex;flex-direction:column;background:#fff;color:#111;font-size:14px;line-height:1.45}",
    ".floating{position:fixed;right:20px;bottom:88px;width:min(380px,calc(100vw - 40px));height:min(560px,calc(100vh - 120px));",
    "border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.3);overflow:hidden;z-index:2147483647}",
    ".full{position:absolute;inset:0}",
    ".hidden{display:none}",
    "header{display:flex;align-items:center;gap:8px;padding:10px 12px;background:#2563eb;color:#fff;font-weight:600}",
    "header span{flex:1}",
    "header button{background:transparent;border:1px solid rgba(255,255,255,.6);color:#fff;border-radius:6px;padding:2px 8px;cursor:pointer}",
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:10px;background:#f8fafc}",
    ".msg{max-width:92%;padding:8px 10px;border-radius:10px;white-space:pre-wrap;word-wrap:break-word}",
    ".user{align-self:flex-end;background:#dbeafe}",
    ".bot{align-self:flex-start;background:#fff;border:1px solid #e5e7eb}",
    ".error{align-self:flex-start;background:#fef2f2;border:1px solid #fecaca;color:#991b1b}",
    ".sources{margin:6px 0 0;padding-left:20px;font-size:12.5px;color:#374151;white-space:normal}",
    ".sources li{margin:3px 0}",
    ".section{color:#6b7280;font-style:italic}",
    "form{display:flex;gap:6px;padding:10px;border-top:1px solid #e5e7eb;background:#fff}",
    "textarea{flex:1;resize:none;height:40px;padding:8px;border:1px solid #cbd5e1;border-radius:8px;font-size:14px}",
    "form button{padding:0 14px;border:0;border-radius:8px;background:#2563eb;color:#fff;cursor:pointer}",
    "form button:disabled{background:#93c5fd;cursor:wait}"
  ].join("\n");

  var host = document.createElement("div");
  host.setAttribute("data-chatbot-widget", inline ? "inline" : "bubble");
  if (inline) { host.style.cssText = "position:fixed;inset:0"; }
  var root = host.attachShadow({ mode: "open" });
  var style = document.createElement("style");
  style.textContent = CSS;
  root.appendChild(style);

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  var panel = el("div", "panel " + (inline ? "full" : "floating hidden"));
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", title);
  var header = el("header");
  header.appendChild(el("span", "", title));
  var newBtn = el("button", "new", "New chat");
  newBtn.type = "button";
  header.appendChild(newBtn);
  var log = el("div", "log");
  log.setAttribute("aria-live", "polite");
  var form = el("form");
  var input = el("textarea");
  input.placeholder = "Ask a question…";
  input.setAttribute("aria-label", "Question");
  var send = el("button", "send", "Send");
  send.type = "submit";
  form.appendChild(input);
  form.appendChild(send);
  panel.appendChild(header);
  panel.appendChild(log);
  panel.appendChild(form);

  if (!inline) {
    var bubble = el("button", "bubble", "💬");
    bubble.type = "button";
    bubble.setAttribute("aria-label", "Open chat");
    bubble.addEventListener("click", function () {
      panel.classList.toggle("hidden");
      if (!panel.classList.contains("hidden")) { input.focus(); }
    });
    root.appendChild(bubble);
  }
  root.appendChild(panel);

  var history = [];

  function add(cls, text) {
    var m = el("div", "msg " + cls, text);
    log.appendChild(m);
    log.scrollTop = log.scrollHeight;
    return m;
  }

  function showAnswer(data) {
    var m = add("bot", String(data.text || ""));
    var cites = Array.isArray(data.citations) ? data.citations : [];
    if (cites.length) {
      var ol = el("ol", "sources");
      cites.forEach(function (c) {
        var li = el("li");
        li.value = Number(c.n) || 0;
        li.appendChild(el("span", "quote", "“" + String(c.quote || "") + "”"));
        if (c.section) { li.appendChild(el("span", "section", " — " + String(c.section))); }
        ol.appendChild(li);
      });
      m.appendChild(ol);
    }
    log.scrollTop = log.scrollHeight;
  }

  function explain(reachable) {
    var server = new URL(base).origin;
    var here = window.location.origin;
    if (!reachable) {
      return "Could not reach the chat server at " + base + ". Check that it is running and that this page can reach it.";
    }
    if (here === server) {
      return "The chat server at " + base + " did not answer the question. Try again in a moment.";
    }
    return "This page's origin (" + here + ") is not allowed to call the chat server at " + server +
      ". Add it to CHATBOT_CORS_ORIGINS on the server, e.g. CHATBOT_CORS_ORIGINS=" + here +
      ", and restart it. (The iframe at " + base + "embed needs no setting.)";
  }

  function ask(question) {
    add("user", question);
    send.disabled = true;
    var headers = { "Content-Type": "application/json" };
    if (token) { headers.Authorization = "Bearer " + token; }
    var body = JSON.stringify({ question: question, history: history.slice(-maxHistory) });
    return fetch(apiAsk, { method: "POST", headers: headers, body: body, credentials: "omit" })
      .then(function (r) {
        return r.json().catch(function () { return { error: "HTTP " + r.status }; }).then(function (data) {
          if (!r.ok) { throw new Error(data && data.error ? String(data.error) : "HTTP " + r.status); }
          return data;
        });
      })
      .then(function (data) {
        showAnswer(data);
        history.push({ role: "user", content: question });
        history.push({ role: "assistant", content: String(data.text || "") });
      })
      .catch(function (err) {
        if (!(err instanceof TypeError)) {  // the server answered with an error message
          add("error", "Could not get an answer: " + (err && err.message ? err.message : String(err)));
          return;
        }
        // The request never got an answer: either the server is down, or the browser refused it
        // because this page's origin is not allowed. A simple no-cors POST tells them apart (and
        // lets the server log the refused origin).
        return fetch(base + "api/origin-check", { method: "POST", mode: "no-cors", credentials: "omit", body: "" })
          .then(function () { return true; }, function () { return false; })
          .then(function (reachable) { add("error", explain(reachable)); });
      })
      .then(function () { send.disabled = false; input.focus(); });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var q = input.value.trim();
    if (!q || send.disabled) { return; }
    input.value = "";
    ask(q);
  });
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey) {
      ev.preventDefault();
      if (typeof form.requestSubmit === "function") { form.requestSubmit(); } else { form.dispatchEvent(new Event("submit")); }
    }
  });
  newBtn.addEventListener("click", function () {
    history = [];
    while (log.firstChild) { log.removeChild(log.firstChild); }
    input.focus();
  });

  function mount() { document.body.appendChild(host); }
  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
})();
