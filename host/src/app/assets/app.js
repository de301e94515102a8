// minutes app: search as you type, the meeting page's player, corrections and ticks, and
// the progress of jobs.
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
  let lines = Array.from(transcript.querySelectorAll("li.seg"));
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
  // A search hit links to its moment: #t=<ms>; a citation to its line: #seg-<id>.
  const goToHash = () => {
    const at = /^#t=(\d+)$/.exec(location.hash);
    if (at && player) {
      player.currentTime = Number(at[1]) / 1000;
      const line = lines.find((l) => Number(at[1]) >= Number(l.dataset.start) && Number(at[1]) < Number(l.dataset.end));
      if (line) { line.classList.add("playing"); line.scrollIntoView({ block: "center" }); }
    }
    const seg = /^#seg-\d+$/.test(location.hash) && document.querySelector(location.hash);
    if (seg) seg.scrollIntoView({ block: "center" });
  };
  // A long transcript comes in two parts: the page paints with the first lines, the rest
  // follow at once (escaped by the server like the page).
  const more = transcript.querySelector("li.more[data-rest]");
  if (more) {
    fetch(more.dataset.rest, { credentials: "same-origin" })
      .then((r) => r.ok ? r.text() : Promise.reject(r.statusText))
      .then((html) => {
        more.insertAdjacentHTML("beforebegin", html);
        more.remove();
        lines = Array.from(transcript.querySelectorAll("li.seg"));
        performance.mark("transcript-complete");
        goToHash();
      })
      .catch((why) => { more.textContent = "The rest of the transcript did not load (" + why + "): reload the page."; });
  }
  goToHash();
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

// Action items: a tick is stored at once; a refused one is undone and says why.
function actionTicks() {
  document.querySelectorAll("input[data-tick]").forEach((box) => {
    box.addEventListener("change", () => {
      const body = new URLSearchParams({ done: box.checked ? "true" : "false" });
      fetch(box.dataset.tick, { method: "POST", body, credentials: "same-origin" })
        .then((r) => r.ok ? r.json() : r.text().then((t) => Promise.reject(t)))
        .then((item) => {
          box.checked = item.done;
          box.closest("li").classList.toggle("done", item.done);
          box.setCustomValidity("");
        })
        .catch((message) => {
          box.checked = !box.checked;
          box.setCustomValidity(String(message));
          box.reportValidity();
        });
    });
  });
}

// A job's page: its events arrive over server-sent events (all of them, from the first).
function jobPage() {
  const job = document.getElementById("job");
  if (!job) return;
  const meetingUrl = (id) => id ? "/meetings/" + encodeURIComponent(id) : job.dataset.meeting;
  // Finished before the page loaded: the result is read on the meeting's page.
  if (job.dataset.outcome === "done" && job.dataset.meeting) { location.replace(job.dataset.meeting); return; }
  if (job.dataset.outcome !== "running") return;
  const log = document.getElementById("job-log");
  const lines = document.getElementById("job-transcript");
  const status = document.getElementById("job-status");
  const bar = document.getElementById("job-progress");
  const end = document.getElementById("job-end");
  const add = (text) => { const li = document.createElement("li"); li.textContent = text; log.appendChild(li); };
  const link = (href, text) => { const a = document.createElement("a"); a.href = href; a.textContent = text; end.replaceChildren(a); };
  const clock = (ms) => { const s = Math.round(ms / 1000); return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0"); };
  log.replaceChildren();
  const source = new EventSource(job.dataset.events);
  source.onmessage = (message) => {
    for (const e of JSON.parse(message.data)) {
      switch (e.event) {
        case "stage_started":
          if (e.stage === "summarize") add("Summarising…");
          if (e.stage === "transcribe") add("Transcribing…");
          if (e.stage === "store") add("Storing…");
          break;
        case "transcribing":
          if (e.total_ms) {
            bar.max = e.total_ms; bar.value = e.position_ms;
            status.textContent = "Transcribed " + Math.floor(100 * e.position_ms / e.total_ms) + "%" +
              (e.eta_ms != null ? " · about " + clock(e.eta_ms) + " left" : "");
          }
          break;
        case "segment": {
          const li = document.createElement("li");
          li.textContent = "[" + clock(e.start_ms) + "] " + (e.speaker ? e.speaker + ": " : "") + e.text;
          lines.appendChild(li);
          while (lines.children.length > 8) lines.firstElementChild.remove();
          break;
        }
        case "stage_done": if (e.stage === "transcribe") { status.textContent = "Transcribed."; } break;
        case "downloading":
          if (e.total_bytes) { bar.max = e.total_bytes; bar.value = e.done_bytes; }
          status.textContent = e.name + ": " + Math.round(e.done_bytes / 1048576) + " MB" +
            (e.total_bytes ? " of " + Math.round(e.total_bytes / 1048576) + " MB" : "");
          break;
        case "summary_planned":
          add(e.chunks + " chunk(s), about " + e.expected_requests + " request(s) to the provider");
          bar.max = Math.max(1, e.expected_requests); bar.value = 0; break;
        case "summary_request":
          add("request " + e.done + (e.expected ? " of " + e.expected : "") + " answered: " +
              e.output_tokens + " tokens in " + e.secs.toFixed(1) + " s");
          bar.value = e.done; break;
        case "summary_ready": add(e.description); break;
        case "recorded": add("Recorded " + clock(e.duration_ms) + "."); break;
        case "warning": add("warning: " + e.message); break;
        case "failed":
          source.close(); add("failed: " + e.message); job.classList.add("failed");
          link(job.dataset.back, "← back"); break;
        case "done": {
          source.close(); add("Done."); bar.max = 1; bar.value = 1;
          const target = meetingUrl(e.meeting_id);
          if (target) { link(target, "Open the meeting →"); location.replace(target); }
          else link(job.dataset.back, "← back");
          break;
        }
      }
    }
  };
}

// The import page's upload: the file is the request's body, with progress while it is sent.
function uploadForm() {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const file = document.getElementById("upload-file");
  const title = document.getElementById("upload-title");
  const bar = document.getElementById("upload-progress");
  const message = document.getElementById("upload-message");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const chosen = file.files[0];
    if (!chosen) return;
    const max = Number(document.getElementById("upload").dataset.max);
    if (chosen.size > max) {
      message.textContent = chosen.name + " is larger than the app takes (" + Math.floor(max / 1048576) + " MB): import it by its path instead.";
      return;
    }
    const params = new URLSearchParams({ name: chosen.name, title: title.value });
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/import/upload?" + params.toString());
    xhr.upload.onprogress = (p) => { if (p.lengthComputable) { bar.max = p.total; bar.value = p.loaded; } };
    xhr.onload = () => {
      if (xhr.status === 200) { location.assign(JSON.parse(xhr.responseText).job); return; }
      message.textContent = xhr.responseText || ("the upload failed (" + xhr.status + ")");
      bar.hidden = true;
    };
    xhr.onerror = () => { message.textContent = "the upload failed: is minutes app still running?"; bar.hidden = true; };
    bar.hidden = false;
    message.textContent = "Uploading " + chosen.name + "…";
    xhr.send(chosen);
  });
}

// The plugins page: a package is uploaded, then reviewed on its consent page.
function packageForm() {
  const form = document.getElementById("package-form");
  if (!form) return;
  const file = document.getElementById("package-file");
  const message = document.getElementById("package-message");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const chosen = file.files[0];
    if (!chosen) return;
    message.textContent = "Checking " + chosen.name + "…";
    fetch("/plugins/upload", { method: "POST", body: chosen, credentials: "same-origin" })
      .then((r) => r.ok ? r.json() : r.text().then((t) => Promise.reject(t)))
      .then((reply) => location.assign(reply.review))
      .catch((why) => { message.textContent = String(why); });
  });
}

// Forms that delete something ask first (no inline script: the CSP allows none).
function confirmations() {
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (e) => { if (!confirm(form.dataset.confirm)) e.preventDefault(); });
  });
}

// The record page while recording: levels and elapsed time polled from the server (the
// recording is the app's, not the tab's), the live transcript from the job's events. When the
// recording stops (here or in another tab) the job's page follows the meeting being made.
function recordingPage() {
  const box = document.getElementById("recording");
  if (!box) return;
  const elapsed = document.getElementById("rec-elapsed");
  const lines = document.getElementById("rec-transcript");
  const warnings = document.getElementById("rec-warnings");
  const clock = (ms) => {
    const s = Math.floor(ms / 1000), h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
    return (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(s % 60).padStart(2, "0");
  };
  let leaving = false;
  const leave = () => { if (!leaving) { leaving = true; location.assign(box.dataset.job); } };
  const poll = async () => {
    try {
      const r = await fetch(box.dataset.status, { credentials: "same-origin" });
      const s = await r.json();
      if (!s.recording || s.stopping) { leave(); return; }
      elapsed.textContent = clock(s.recorded_ms);
      s.levels_db.forEach((db, i) => {
        const meter = document.getElementById("level-" + i);
        const label = document.getElementById("level-" + i + "-db");
        if (meter) meter.value = Math.max(-60, db);
        if (label) label.textContent = db <= -90 ? "silent" : Math.round(db) + " dB";
      });
    } catch (e) { /* the next poll tries again */ }
    setTimeout(poll, 250);
  };
  poll();
  const source = new EventSource(box.dataset.events);
  source.onmessage = (message) => {
    for (const e of JSON.parse(message.data)) {
      if (e.event === "segment") {
        const li = document.createElement("li");
        li.textContent = "[" + clock(e.start_ms) + "] " + (e.speaker ? e.speaker + ": " : "") + e.text;
        lines.appendChild(li);
        li.scrollIntoView({ block: "nearest" });
      } else if (e.event === "warning") {
        const li = document.createElement("li");
        li.textContent = e.message;
        warnings.appendChild(li);
      } else if (e.event === "recorded" || e.event === "failed" || e.event === "done") {
        source.close(); leave();
      }
    }
  };
}

document.addEventListener("DOMContentLoaded", () => {
  recordingPage();
  packageForm();
  confirmations();
  searchAsYouType();
  meetingPage();
  actionTicks();
  jobPage();
  uploadForm();
});
