// Builds the widget into bot/channels/widget/static/ (git-ignored): two IIFE scripts, no
// eval, and the chat's stylesheet. `make widget` runs it.
import * as esbuild from "esbuild";

const common = { bundle: true, minify: true, sourcemap: false, logLevel: "warning", legalComments: "none" };
// widget.js: the one tag a site embeds, which only draws the frame; widget-chat.js: the
// chat inside the frame (bot/channels/widget/frame.py).
for (const [entry, out] of [
  ["src/main.js", "widget.js"],
  ["src/chat.js", "widget-chat.js"],
]) {
  await esbuild.build({
    ...common,
    entryPoints: [entry],
    outfile: `../bot/channels/widget/static/${out}`,
    format: "iife",
    target: ["es2020", "chrome90", "firefox90", "safari15"],
  });
}
await esbuild.build({
  ...common,
  entryPoints: ["src/widget.css"],
  outfile: "../bot/channels/widget/static/widget.css",
});
