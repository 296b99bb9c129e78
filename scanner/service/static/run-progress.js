// The run page's live progress: server-sent events from /runs/{id}/events update the
// <progress> bar and its text; when the run ends the page reloads once to show the
// devices, drift and alerts it found. Loaded as a file (the CSP allows no inline script);
// text is set with textContent, never as HTML.
"use strict";
(function () {
  const box = document.getElementById("run-progress");
  if (!box || !box.dataset.events || typeof EventSource === "undefined") {
    return;
  }
  const bar = document.getElementById("run-progress-bar");
  const label = document.getElementById("run-progress-text");
  const source = new EventSource(box.dataset.events);

  function show(event) {
    let data;
    try {
      data = JSON.parse(event.data);
    } catch (err) {
      return;
    }
    const total = Number(data.total) || 0;
    const done = Number(data.done) || 0;
    if (bar) {
      bar.max = total > 0 ? total : 1;
      bar.value = total > 0 ? Math.min(done, total) : (data.final ? 1 : 0);
    }
    if (label && typeof data.text === "string") {
      label.textContent = data.text;
    }
    box.dataset.status = String(data.status || "");
    return data;
  }

  source.addEventListener("progress", show);
  source.addEventListener("done", function (event) {
    show(event);
    box.dataset.finished = "1";
    source.close();
    // once: the reloaded page of a finished run has no event source
    window.setTimeout(function () { window.location.reload(); }, 800);
  });
})();
