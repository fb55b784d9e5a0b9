#!/usr/bin/env node
/**
 * Bundles the dind-run CLI (client/cli.ts with dockerode) into one file, bin/dind-run.js, which
 * package.json's `bin` names. `npm run build` runs this after tsc; `node scripts/bundle-cli.js
 * FILE` writes the bundle elsewhere.
 *
 * Most of dind-run's start-up went to loading dockerode, which at load time requires what the CLI
 * never uses: docker-modem's ssh:// agent (ssh2, cpu-features) and dockerode's BuildKit session
 * (@grpc/grpc-js, protobufjs): 240 module files in all. The bundle is one file, and it leaves
 * those parts out: they are loaded from the installed dockerode on first use.
 */
"use strict";
const fs = require("fs");
const path = require("path");
const esbuild = require("esbuild");

const ROOT = path.join(__dirname, "..");
const DEFAULT_OUTFILE = path.join(ROOT, "bin", "dind-run.js");

/**
 * Modules of dockerode and docker-modem that stay out of the bundle, by the file that requires
 * them and how it names them. `eager` ones are required when their importer loads; they export a
 * function, which is replaced by one that loads the real module when first called.
 */
const LEFT_OUT = [
    // ssh:// endpoints only; connectionOptions makes unix and tcp ones.
    { importer: "docker-modem/lib/modem.js", request: "./ssh", module: "docker-modem/lib/ssh.js", eager: true },
    // BuildKit builds only; the CLI builds nothing.
    { importer: "dockerode/lib/docker.js", request: "./session", module: "dockerode/lib/session.js", eager: true },
    // Required on first use already; reads .proto files beside itself, so it cannot be bundled.
    { importer: "dockerode/lib/docker.js", request: "./buildkit", module: "dockerode/lib/buildkit.js", eager: false },
];

/** Resolves a left-out module at run time from the installed dockerode, which may nest docker-modem. */
function runtimeRequire(module) {
    return `require(require.resolve(${JSON.stringify(module)}, { paths: [require.resolve("dockerode")] }))`;
}

/**
 * An esbuild plugin that puts a loader in place of each module in LEFT_OUT, and fails the build
 * when one of them is no longer required as listed, so that it cannot slip back into the bundle.
 */
const leaveOut = {
    name: "leave-out",
    setup(build) {
        const found = new Set();
        build.onResolve({ filter: new RegExp(`^(${LEFT_OUT.map((e) => e.request.replace(/[./]/g, "\\$&")).join("|")})$`) }, (args) => {
            const importer = args.importer.split(path.sep).join("/");
            const entry = LEFT_OUT.find((e) => e.request === args.path && importer.endsWith(`/node_modules/${e.importer}`));
            if (entry === undefined) {
                return undefined;
            }
            found.add(entry);
            return { path: entry.module, namespace: "left-out", pluginData: entry };
        });
        build.onLoad({ filter: /.*/, namespace: "left-out" }, ({ pluginData: entry }) => ({
            contents: entry.eager
                ? `module.exports = function () { return ${runtimeRequire(entry.module)}.apply(this, arguments); };`
                : `module.exports = ${runtimeRequire(entry.module)};`,
            loader: "js",
        }));
        build.onEnd(() => ({
            errors: LEFT_OUT.filter((e) => !found.has(e)).map((e) => ({
                text: `${e.importer} no longer requires ${e.request}: update LEFT_OUT in ${path.relative(ROOT, __filename)}`,
            })),
        }));
    },
};

/** Writes the bundle to `outfile` (default bin/dind-run.js), executable, and resolves to its path. */
async function bundleCli(outfile = DEFAULT_OUTFILE) {
    await esbuild.build({
        entryPoints: [path.join(ROOT, "client", "cli.ts")],
        outfile,
        bundle: true,
        platform: "node",
        format: "cjs",
        target: "node20",
        tsconfig: path.join(ROOT, "tsconfig.build.json"),
        plugins: [leaveOut],
        logLevel: "warning",
        // The left-out modules are found at run time, from wherever dockerode is installed.
        logOverride: { "require-resolve-not-external": "silent" },
    });
    fs.chmodSync(outfile, 0o755);
    return outfile;
}

module.exports = { LEFT_OUT, bundleCli };

if (require.main === module) {
    bundleCli(process.argv[2] && path.resolve(process.argv[2])).catch((error) => {
        console.error(error instanceof Error ? error.message : error);
        process.exitCode = 1;
    });
}
