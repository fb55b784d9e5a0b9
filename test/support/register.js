/**
 * Runs the TypeScript of the tests and the bench scripts in Node: mocha's configs and the bench
 * scripts load this with `--require`. Each .ts file is transpiled on its own by esbuild, without
 * a type check: `npm run typecheck` is the type gate.
 *
 * Stack traces point into the .ts sources through Node's own source-map support. ts-node maps them
 * with source-map-support instead, which copies every frame of every stack; Pulumi's runtime takes
 * a stack trace for each promise it makes, tens of thousands in a run of the mock suite, and that
 * copying cost a third of the suite's time.
 */
"use strict";
const fs = require("fs");
const path = require("path");
const esbuild = require("esbuild");

const tsconfigRaw = fs.readFileSync(path.join(__dirname, "..", "..", "tsconfig.json"), "utf8");

process.setSourceMapsEnabled(true);

require.extensions[".ts"] = (module, filename) => {
    const { code } = esbuild.transformSync(fs.readFileSync(filename, "utf8"), {
        loader: "ts",
        format: "cjs",
        platform: "node",
        target: "es2022",
        sourcemap: "inline",
        sourcefile: filename,
        tsconfigRaw,
    });
    module._compile(code, filename);
};
