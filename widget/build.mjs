// Builds the widget into bot/channels/widget/static/ (git-ignored): one IIFE script, no
// eval, and its stylesheet. `make widget` runs it.
import * as esbuild from "esbuild";

const common = { bundle: true, minify: true, sourcemap: false, logLevel: "warning", legalComments: "none" };
await esbuild.build({
  ...common,
  entryPoints: ["src/main.js"],
  outfile: "../bot/channels/widget/static/widget.js",
  format: "iife",
  target: ["es2020", "chrome90", "firefox90", "safari15"],
});
await esbuild.build({
  ...common,
  entryPoints: ["src/widget.css"],
  outfile: "../bot/channels/widget/static/widget.css",
});
