// Lotsen's chat widget. Embedded with one tag:
//   <script src="https://HOST/widget.js" data-municipality="example" data-language="sv" defer></script>
// This script only draws a frame from HOST (/widget/frame) in the page's corner; the chat
// runs inside it (chat.js). The frame is another origin's document, so no script of the
// host page (analytics, a tag manager) can read the conversation or its token. The frame
// tells this page only its size: the launcher's when closed, the panel's when open.

import STRINGS from "./strings.json";

const FRAME_ID = "lotsen-widget-frame";
// The open panel's size in the frame's rem (its text size), and below which the panel
// takes the whole screen (a phone, or large text on a small window); as in widget.css.
const PANEL_REM = { width: 28, height: 48 };
const FULL_SCREEN_BELOW_REM = 32;

function start() {
  const script =
    document.currentScript || document.querySelector('script[src$="/widget.js"][data-municipality]');
  if (!script || document.getElementById(FRAME_ID)) return;
  const base = new URL(script.src, document.baseURI).origin;
  const language = (script.dataset.language || document.documentElement.lang || "sv").slice(0, 2).toLowerCase();
  const query = new URLSearchParams({
    municipality: script.dataset.municipality || "",
    language,
    host: window.location.origin,
  });
  const frame = document.createElement("iframe");
  frame.id = FRAME_ID;
  frame.className = "lotsen-frame";
  frame.title = (STRINGS[language] || STRINGS.sv).title;
  frame.src = `${base}/widget/frame?${query}`;
  frame.setAttribute("referrerpolicy", "no-referrer");
  // Styles set through the DOM, not a style attribute or sheet: a host page whose own
  // Content-Security-Policy forbids inline styles still shows the frame.
  Object.assign(frame.style, {
    position: "fixed",
    bottom: "0",
    right: "0",
    width: "0",
    height: "0",
    border: "0",
    margin: "0",
    padding: "0",
    background: "transparent",
    colorScheme: "normal",
    zIndex: "2147483000",
    visibility: "hidden",
  });

  window.addEventListener("message", (event) => {
    if (event.source !== frame.contentWindow || event.origin !== base) return;
    const state = event.data;
    if (!state || state.lotsen !== "frame") return;
    place(frame, state);
  });
  window.addEventListener("resize", () => {
    if (frame.lastState) place(frame, frame.lastState);
  });

  const mount = () => document.body.append(frame);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
  else mount();
}

function place(frame, state) {
  frame.lastState = state;
  const rem = Number(state.rem) || 16;
  const side = state.side === "left" ? "left" : "right";
  const style = frame.style;
  style.left = side === "left" ? "0" : "auto";
  style.right = side === "right" ? "0" : "auto";
  style.visibility = "visible";
  if (!state.open) {
    style.top = "auto";
    style.bottom = "0";
    style.width = `${Math.min(Number(state.width) || 0, window.innerWidth)}px`;
    style.height = `${Math.min(Number(state.height) || 0, window.innerHeight)}px`;
    return;
  }
  const small = Math.min(window.innerWidth, window.innerHeight) < FULL_SCREEN_BELOW_REM * rem;
  if (small) {
    style.top = "0";
    style.bottom = "0";
    style.left = "0";
    style.right = "0";
    style.width = "100%";
    style.height = "100%";
  } else {
    style.top = "auto";
    style.bottom = "0";
    style.width = `${Math.min(PANEL_REM.width * rem, window.innerWidth)}px`;
    style.height = `${Math.min(PANEL_REM.height * rem, window.innerHeight)}px`;
  }
}

start();
