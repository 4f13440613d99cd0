// The coordinator app's only script (no inline scripts: the pages' CSP forbids them).
// Live parts: a server-sent event says "changed", the part is fetched again as
// server-rendered, escaped HTML and swapped in.
"use strict";

const PREVIEW_DELAY_MS = 400;

function live(element) {
  const events = new EventSource(element.dataset.events);
  let busy = false;
  events.addEventListener("change", async () => {
    if (busy) return;
    busy = true;
    try {
      const response = await fetch(element.dataset.fragment, { credentials: "same-origin" });
      if (response.ok) element.innerHTML = await response.text();
    } finally {
      busy = false;
    }
  });
}

// The reply as the person will receive it, shown while the coordinator writes: the form
// (with its CSRF token) goes to the preview endpoint a moment after the last keystroke,
// and the server-rendered preview is swapped in. An older answer never replaces a newer.
function livePreview(form) {
  const target = document.getElementById("reply-preview");
  if (!target) return;
  let timer = null;
  let latest = 0;
  async function update() {
    const asked = ++latest;
    try {
      const response = await fetch(form.dataset.preview, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
      });
      if (response.ok && asked === latest) target.innerHTML = await response.text();
    } catch (error) {
      // The preview is a help; the preview button and sending work without it.
    }
  }
  function later() {
    clearTimeout(timer);
    timer = setTimeout(update, PREVIEW_DELAY_MS);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  return update;
}

document.querySelectorAll("[data-live]").forEach(live);

const replyForm = document.getElementById("reply-form");
const refreshPreview = replyForm && replyForm.dataset.preview ? livePreview(replyForm) : null;

// A quick reply is written in a given language (the person's, or the coordinator's for a
// language reached only by translation): the form says so, and it is translated only then.
document.querySelectorAll("[data-quick]").forEach((button) => {
  button.addEventListener("click", () => {
    const reply = document.getElementById("reply-text");
    reply.value = button.dataset.quick;
    const source = reply.form.elements.namedItem("source_language");
    if (source && button.dataset.language) source.value = button.dataset.language;
    reply.focus();
    if (refreshPreview) refreshPreview();
  });
});
