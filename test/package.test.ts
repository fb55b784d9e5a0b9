import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { capture } from "./harness";

const ROOT = path.join(__dirname, "..");
const { LEFT_OUT, bundleCli } = require("../scripts/bundle-cli") as {
    LEFT_OUT: { module: string }[];
    bundleCli(outfile: string): Promise<string>;
};

describe("the published package", function () {
    // A full compile of the library: slower than the other tests, and what consumers get.
    this.timeout(120_000);
    let outDir: string;

    before(async () => {
        // Inside the checkout, so the build resolves node_modules as a consumer's install would.
        outDir = fs.mkdtempSync(path.join(ROOT, ".package-test-"));
        execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(ROOT, "tsconfig.build.json"), "--outDir", outDir], {
            stdio: "pipe",
        });
        await bundleCli(path.join(outDir, "dind-run.js"));
    });

    after(() => fs.rmSync(outDir, { recursive: true, force: true }));

    it("compiles to JavaScript with type declarations for the components and the client", () => {
        for (const file of ["components/index.js", "components/index.d.ts", "client/index.js", "client/index.d.ts", "client/cli.js"]) {
            assert.ok(fs.existsSync(path.join(outDir, file)), `${file} is built`);
        }
    });

    it("bundles dind-run into one executable file that loads no other module at start", () => {
        const cli = path.join(outDir, "dind-run.js");
        assert.match(fs.readFileSync(cli, "utf8"), /^#!\/usr\/bin\/env node\n/);
        assert.ok((fs.statSync(cli).mode & 0o111) !== 0, "dind-run.js is executable");
        assert.match(execFileSync(cli, ["--help"], { encoding: "utf8" }), /^Usage:\n {2}dind-run \[OPTIONS\] IMAGE/);
        // Loaded as a module, so that it does not run: what it requires at start, outside Node's own.
        const loaded = execFileSync(process.execPath, ["-e", "require(process.argv[1]); console.log(JSON.stringify(Object.keys(require.cache)))", cli], {
            encoding: "utf8",
        });
        assert.deepEqual(JSON.parse(loaded), [cli]);
    });

    it("finds what the bundle leaves out of dockerode where it will look for it on first use", () => {
        const dockerode = require.resolve("dockerode", { paths: [outDir] });
        for (const { module } of LEFT_OUT) {
            assert.ok(require(require.resolve(module, { paths: [dockerode] })), `${module} loads`);
        }
    });

    it("can be imported from compiled JavaScript without running the program or registering anything", async () => {
        let exported: Record<string, unknown> = {};
        const captured = await capture(() => {
            exported = require(path.join(outDir, "components/index.js"));
        });
        assert.equal(captured.resources.length, 0);
        for (const name of ["DindDeployment", "SelfHostedRegistry", "LocalDind", "LocalRegistry", "InvalidArgumentError"]) {
            assert.equal(typeof exported[name], "function", `${name} is exported`);
        }
    });

    it("points package.json's entry points and bin at what the build writes", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        const built = (file: string) => fs.existsSync(path.join(outDir, file.replace(/^(\.\/)?bin\//, "")));
        assert.ok(built(pkg.main) && built(pkg.types));
        assert.ok(built(pkg.bin["dind-run"]));
        assert.ok(built(pkg.exports["./client"].default) && built(pkg.exports["./client"].types));
        assert.ok(pkg.peerDependencies["@pulumi/pulumi"], "one copy of @pulumi/pulumi in a consumer's tree");
        assert.equal(pkg.dependencies["@pulumi/pulumi"], undefined);
    });
});
