// The coordinator app's only script (no inline scripts: the pages' CSP forbids them).
// Live parts: a server-sent event says "changed", the part is fetched again as
// server-rendered, escaped HTML and swapped in.
"use strict";

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

document.querySelectorAll("[data-live]").forEach(live);

document.querySelectorAll("[data-quick]").forEach((button) => {
  button.addEventListener("click", () => {
    const reply = document.getElementById("reply-text");
    reply.value = button.dataset.quick;
    reply.focus();
  });
});
