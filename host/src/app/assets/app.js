// minutes app: search as you type, and the meeting page's player and corrections.
// Everything the server sends is HTML it rendered and escaped itself.
"use strict";

function searchAsYouType() {
  const form = document.querySelector("form.search");
  const results = document.getElementById("results");
  if (!form || !results) return;
  const input = form.querySelector("input[name=q]");
  const label = form.querySelector("select[name=label]");
  let timer = null;
  let asked = 0;
  const run = () => {
    const params = new URLSearchParams();
    if (input.value.trim()) params.set("q", input.value);
    if (label && label.value) params.set("label", label.value);
    const query = params.toString();
    const n = ++asked;
    fetch("/results" + (query ? "?" + query : ""), { credentials: "same-origin" })
      .then((r) => r.text())
      .then((html) => {
        if (n !== asked) return; // an older answer arriving late
        results.innerHTML = html;
        history.replaceState(null, "", "/" + (query ? "?" + query : ""));
      });
  };
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(run, 120);
  });
  if (label) label.addEventListener("change", run);
  form.addEventListener("submit", (e) => { e.preventDefault(); run(); });
}

function meetingPage() {
  const player = document.getElementById("player");
  const transcript = document.querySelector("ol.transcript");
  if (!transcript) return;
  const lines = Array.from(transcript.querySelectorAll("li.seg"));
  const playFrom = (ms) => {
    if (!player) return;
    player.currentTime = ms / 1000;
    const p = player.play();
    if (p && p.catch) p.catch(() => {});
  };
  transcript.addEventListener("click", (e) => {
    const line = e.target.closest("li.seg");
    if (!line) return;
    if (e.target.closest(".edit")) { startEdit(line); return; }
    if (e.target.closest("input")) return;
    playFrom(Number(line.dataset.start));
  });
  document.querySelectorAll("a.cite[data-at]").forEach((a) => {
    a.addEventListener("click", (e) => { e.preventDefault(); playFrom(Number(a.dataset.at)); });
  });
  // A search hit links to its moment: #t=<ms>.
  const at = /^#t=(\d+)$/.exec(location.hash);
  if (at && player) {
    player.currentTime = Number(at[1]) / 1000;
    const line = lines.find((l) => Number(at[1]) >= Number(l.dataset.start) && Number(at[1]) < Number(l.dataset.end));
    if (line) { line.classList.add("playing"); line.scrollIntoView({ block: "center" }); }
  }
  if (player) {
    let current = null;
    player.addEventListener("timeupdate", () => {
      const ms = player.currentTime * 1000;
      const line = lines.find((l) => ms >= Number(l.dataset.start) && ms < Number(l.dataset.end));
      if (line === current) return;
      transcript.querySelectorAll("li.playing").forEach((l) => l.classList.remove("playing"));
      if (line) line.classList.add("playing");
      current = line || null;
    });
  }
}

function startEdit(line) {
  const text = line.querySelector(".text");
  if (!text || line.querySelector("input.editing")) return;
  const input = document.createElement("input");
  input.className = "editing";
  input.value = text.textContent;
  text.hidden = true;
  text.after(input);
  input.focus();
  const done = () => { input.remove(); text.hidden = false; };
  input.addEventListener("keydown", (e) => {
    if (e.key === "Escape") { done(); return; }
    if (e.key !== "Enter") return;
    e.preventDefault();
    const body = new URLSearchParams({ text: input.value });
    fetch(line.dataset.edit, { method: "POST", body, credentials: "same-origin" })
      .then((r) => r.ok ? r.json() : r.text().then((t) => Promise.reject(t)))
      .then((saved) => {
        text.textContent = saved.text;
        text.classList.toggle("corrected", saved.original_text !== null);
        text.title = saved.original_text === null ? "" : "transcribed as: " + saved.original_text;
        done();
      })
      .catch((message) => { input.setCustomValidity(String(message)); input.reportValidity(); });
  });
  input.addEventListener("blur", () => setTimeout(done, 150));
}

document.addEventListener("DOMContentLoaded", () => {
  searchAsYouType();
  meetingPage();
});
