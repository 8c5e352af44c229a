// The summarizer's page: POST the article to /v1/summaries and show each claim's evidence highlighted in it.
// Offsets from the server count Unicode code points (Python's str), so the article is cut with Array.from, never
// with String.slice (UTF-16 units would shift every span after an emoji).
"use strict";

const $ = (id) => document.getElementById(id);
const articleBox = $("article"), go = $("go"), statusLine = $("status"), keyRow = $("key-row"), keyBox = $("key");
keyBox.value = sessionStorage.getItem("summarizer-key") || "";
if (keyBox.value) keyRow.hidden = false;

function say(message, isError = false) {
  statusLine.textContent = message;
  statusLine.classList.toggle("error", isError);
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else if (k === "text") node.textContent = v; else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
}

articleBox.addEventListener("dragover", (e) => { e.preventDefault(); articleBox.classList.add("dragging"); });
articleBox.addEventListener("dragleave", () => articleBox.classList.remove("dragging"));
articleBox.addEventListener("drop", async (e) => {
  e.preventDefault();
  articleBox.classList.remove("dragging");
  const file = e.dataTransfer && e.dataTransfer.files[0];
  if (file) articleBox.value = await file.text();
});
articleBox.addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) summarise(); });
go.addEventListener("click", summarise);

async function summarise() {
  const article = articleBox.value;
  if (!article.trim()) { say("Paste an article first.", true); articleBox.focus(); return; }
  const headers = { "Content-Type": "application/json" };
  if (keyBox.value.trim()) {
    headers["Authorization"] = "Bearer " + keyBox.value.trim();
    sessionStorage.setItem("summarizer-key", keyBox.value.trim());
  }
  go.disabled = true;
  say("Summarising… (an embedded model takes a minute or two)");
  try {
    const reply = await fetch("/v1/summaries", { method: "POST", headers, body: JSON.stringify({ article }) });
    const body = await reply.json().catch(() => ({}));
    if (!reply.ok) {
      const error = body.error || { type: "HTTP " + reply.status, message: reply.statusText };
      if (reply.status === 401) { keyRow.hidden = false; keyBox.focus(); }
      say(`${error.type}: ${error.message}`, true);
      return;
    }
    show(article, body);
    say(`${body.claims.length} claim(s) from ${body.provenance.model}` + (body.provenance.cached ? " (cached)" : ""));
  } catch (err) {
    say("The server did not answer: " + err, true);
  } finally {
    go.disabled = false;
  }
}

function show(article, s) {
  $("result").hidden = false;
  $("headline").textContent = s.headline;
  $("summary").textContent = s.summary;
  renderText(article, s.claims);
  const list = $("claims");
  list.replaceChildren();
  s.claims.forEach((c, i) => {
    const flags = s.flags.filter((f) => f.claim === i);
    const badges = el("span", { class: "badges" },
      el("span", { class: "badge speaker", text: c.speaker ? "said by " + c.speaker : "the article's own voice" }),
      el("span", { class: "badge" + (c.certainty === "asserted" ? "" : " hedged"),
                   text: c.kind + " · " + c.certainty }));
    if (c.attribution) badges.append(el("span", { class: "badge", text: "source in the article: " + c.attribution.name }));
    if (c.copies_evidence) badges.append(el("span", { class: "badge warn", text: "copies its evidence" }));
    for (const f of flags) badges.append(el("span", { class: "badge warn", text: f.kind + ": " + f.text }));
    const button = el("button", { class: "claim", type: "button", "data-claim": String(i),
                                  "aria-label": `Claim ${i + 1}: ${c.statement}. Show its evidence.` },
                      el("span", { text: c.statement }), badges);
    button.addEventListener("click", () => focusClaim(i, true));
    button.addEventListener("mouseenter", () => focusClaim(i, false));
    button.addEventListener("focus", () => focusClaim(i, false));
    list.append(el("li", {}, button));
  });
  fill($("rejected-box"), $("rejected"), s.rejected_claims.map((r) => [r.statement, r.reason]));
  fill($("flags-box"), $("flags"), s.flags.map((f) => [`${f.field}: ${f.text}`, f.reason]));
}

function fill(box, list, items) {
  list.replaceChildren(...items.map(([what, why]) => el("li", {}, el("span", { text: what }),
                                                        el("span", { class: "reason", text: why }))));
  box.hidden = items.length === 0;
}

// The article as text with every evidence span in a <mark>; where spans overlap, a piece belongs to the first claim.
function renderText(article, claims) {
  const chars = Array.from(article);
  const cuts = new Set([0, chars.length]);
  const spans = [];
  claims.forEach((c, i) => c.evidence.forEach((e) => {
    spans.push({ start: e.start, end: e.end, claim: i, text: e.text });
    cuts.add(e.start); cuts.add(e.end);
  }));
  const points = [...cuts].sort((a, b) => a - b);
  const box = $("text");
  box.replaceChildren();
  for (let k = 0; k + 1 < points.length; k++) {
    const a = points[k], b = points[k + 1];
    const piece = chars.slice(a, b).join("");
    const owners = spans.filter((s) => s.start <= a && b <= s.end);
    if (!owners.length) { box.append(piece); continue; }
    const mark = el("mark", { "data-claim": String(owners[0].claim), "data-start": String(a), "data-end": String(b),
                              title: "Claim " + (owners[0].claim + 1), text: piece });
    box.append(mark);
  }
}

function focusClaim(i, scroll) {
  document.querySelectorAll(".claim.active, mark.active").forEach((n) => n.classList.remove("active"));
  const button = document.querySelector(`.claim[data-claim="${i}"]`);
  if (button) button.classList.add("active");
  const marks = document.querySelectorAll(`mark[data-claim="${i}"]`);
  marks.forEach((m) => m.classList.add("active"));
  if (scroll && marks.length) marks[0].scrollIntoView({ block: "center", behavior: "smooth" });
}
