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
      if (response.ok) {
        element.innerHTML = await response.text();
        element.dispatchEvent(new CustomEvent("lotsen:updated"));
      }
    } finally {
      busy = false;
    }
  });
}

// Waiting times count up on their own, from the time the person asked (server-rendered
// as a timestamp), not only when the queue changes.
const TICK_MS = 15000;
function tick() {
  const now = Date.now();
  document.querySelectorAll("[data-since]").forEach((element) => {
    const since = Date.parse(element.dataset.since);
    if (Number.isNaN(since)) return;
    const minutes = Math.max(0, Math.floor((now - since) / 60000));
    element.textContent = `${minutes} ${element.dataset.unit || "min"}`;
  });
}

// The tab title says how many people wait, and says so when a new one starts waiting; a
// short sound too, if the coordinator switched it on (off by default, kept in this browser).
const SOUND_KEY = "lotsen-coordinator-sound";
function soundOn() {
  try {
    return localStorage.getItem(SOUND_KEY) === "on";
  } catch (error) {
    return false;
  }
}

function beep() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return;
  const context = new Context();
  const tone = context.createOscillator();
  const volume = context.createGain();
  tone.frequency.value = 880;
  volume.gain.value = 0.15;
  tone.connect(volume).connect(context.destination);
  tone.start();
  tone.stop(context.currentTime + 0.25);
  tone.onended = () => context.close();
}

function waitingWatch(queue) {
  let known = null;
  let announcing = false;
  function update() {
    const state = queue.querySelector("[data-waiting-ids]");
    if (!state) return;
    const ids = state.dataset.waitingIds.split(" ").filter(Boolean);
    const arrived = known !== null && ids.some((id) => !known.has(id));
    known = new Set(ids);
    if (arrived) {
      announcing = !document.hasFocus();
      if (soundOn()) beep();
    }
    const count = ids.length ? `(${ids.length}) ` : "";
    const fresh = arrived || announcing ? `${queue.dataset.newTitle} ` : "";
    document.title = `${fresh}${count}${queue.dataset.title}`;
  }
  window.addEventListener("focus", () => {
    announcing = false;
    update();
  });
  queue.addEventListener("lotsen:updated", () => {
    update();
    tick();
  });
  update();
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
tick();
setInterval(tick, TICK_MS);

const queueElement = document.getElementById("queue");
if (queueElement) waitingWatch(queueElement);

const soundSetting = document.getElementById("sound-setting");
const soundToggle = document.getElementById("sound-toggle");
if (soundSetting && soundToggle) {
  soundSetting.hidden = false;
  soundToggle.checked = soundOn();
  soundToggle.addEventListener("change", () => {
    try {
      localStorage.setItem(SOUND_KEY, soundToggle.checked ? "on" : "off");
    } catch (error) {
      // Private windows may refuse storage; the sound then stays off.
    }
    if (soundToggle.checked) beep();
  });
}

// Ctrl+Enter (Cmd+Enter on a Mac) sends the reply, as in mail and chat tools.
const replyText = document.getElementById("reply-text");
if (replyText) {
  replyText.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      replyText.form.requestSubmit();
    }
  });
}

// A confirmation the server asked for gets the focus, so it is read first.
const confirmation = document.getElementById("confirm");
if (confirmation) confirmation.focus();

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
