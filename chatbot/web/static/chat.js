// The chat page's behaviour. Runs as the article panel's js_on_load (Gradio gives `element`, the
// panel, and `watch`). Listeners are delegated from the document, so they also cover answers added
// later. The chat's sanitizer keeps `class` but drops data-/aria- attributes, so a citation control
// names its answer and number in a class: `cb-ref-<turn>-<n>`.
const panel = element;
const article = () => panel.querySelector(".cb-article");
const narrow = () => window.matchMedia("(max-width: 720px)").matches;

// On a phone the article is a full-screen sheet: the class goes on the row that holds it (Gradio
// scopes the page's CSS to its container, so a class on <body> would match nothing).
const main = () => document.getElementById("cb-main");

function openEvidence() {
  const row = main();
  if (!row || !narrow() || row.classList.contains("cb-ev-shown")) { return; }
  row.classList.add("cb-ev-shown");
  const close = document.querySelector(".cb-ev-close");
  if (close) { close.focus({ preventScroll: true }); }
}

function closeEvidence() {
  const row = main();
  if (!row || !row.classList.contains("cb-ev-shown")) { return; }
  row.classList.remove("cb-ev-shown");
  const back = window.__cbReturnFocus || document.querySelector(".cb-ev-open");
  if (back && back.isConnected) { back.focus({ preventScroll: true }); }
}

function scrollTo(mark) {
  const box = article();
  if (!box || !mark) { return; }
  const top = mark.getBoundingClientRect().top - box.getBoundingClientRect().top + box.scrollTop;
  box.scrollTop = Math.max(0, top - box.clientHeight / 3);
  const row = main();
  if (row && row.classList.contains("cb-ev-shown")) { return; }  // the phone sheet shows the box already
  const r = box.getBoundingClientRect();
  if (r.bottom > 0 && (r.top < 0 || r.top > window.innerHeight - 80)) { box.scrollIntoView({ block: "nearest" }); }
}

// Highlight every span of answer `turn`, outline the spans of citation `n`, and scroll to it.
function show(turn, n) {
  const box = article();
  if (!box) { return; }
  box.querySelectorAll(".cb-on, .cb-focus").forEach((e) => e.classList.remove("cb-on", "cb-focus"));
  box.querySelectorAll(".cb-t" + turn).forEach((e) => e.classList.add("cb-on"));
  const target = box.querySelectorAll(".cb-k" + turn + "-" + n);
  target.forEach((e) => e.classList.add("cb-focus"));
  openEvidence();
  scrollTo(target[0] || box.querySelector("mark.cb-on"));
}

function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) { return navigator.clipboard.writeText(text); }
  const area = document.createElement("textarea");  // plain-http fallback
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.cssText = "position:fixed;top:-1000px;opacity:0";
  document.body.appendChild(area);
  area.select();
  const ok = document.execCommand("copy");
  area.remove();
  return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
}

// Gradio names each message "bot's message: <the raw HTML>"; give screen readers the text instead.
function fixLabels(root) {
  root.querySelectorAll("[aria-label^=\"bot's message: \"], [aria-label^=\"user's message: \"]").forEach((m) => {
    const raw = m.getAttribute("aria-label");
    const who = raw.startsWith("bot") ? "Answer" : "You";
    // DOMParser documents are inert: nothing in them runs or loads.
    const doc = new DOMParser().parseFromString(raw.slice(raw.indexOf(": ") + 2), "text/html");
    doc.querySelectorAll(".cb-tip, .cb-sr, .cb-tools, .cb-caret").forEach((e) => e.remove());
    const text = (doc.body.textContent || "").replace(/\s+/g, " ").trim();
    m.setAttribute("aria-label", who + ": " + (text.length > 300 ? text.slice(0, 300) + "…" : text));
  });
}

if (!window.__cbChat) {
  window.__cbChat = true;
  document.addEventListener("click", (ev) => {
    const t = ev.target instanceof Element ? ev.target : null;
    if (!t) { return; }
    const go = t.closest(".cb-go");
    if (go) {
      const m = /cb-ref-(\d+)-(\d+)/.exec(go.className);
      if (m) { ev.preventDefault(); window.__cbReturnFocus = go; show(m[1], m[2]); }
      return;
    }
    const copy = t.closest(".cb-copy");
    if (copy) {
      const md = copy.parentElement && copy.parentElement.querySelector(".cb-md");
      const label = copy.textContent;
      copyText(md ? md.textContent : "").then(
        () => { copy.textContent = "Copied"; },
        () => { copy.textContent = "Copy failed"; },
      ).then(() => setTimeout(() => { copy.textContent = label; }, 1500));
      return;
    }
    if (t.closest(".cb-ev-open")) { window.__cbReturnFocus = t.closest(".cb-ev-open"); openEvidence(); return; }
    if (t.closest(".cb-ev-close")) { closeEvidence(); }
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") { closeEvidence(); }
  });
  new MutationObserver(() => fixLabels(document)).observe(document.body, {
    subtree: true, childList: true, attributes: true, attributeFilter: ["aria-label"],
  });
  fixLabels(document);
}

// A new answer re-renders the article: bring its highlighted spans into view.
const follow = () => scrollTo(panel.querySelector("mark.cb-on"));
watch("value", follow);
follow();
