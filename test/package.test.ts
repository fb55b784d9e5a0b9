import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { capture } from "./harness";

const ROOT = path.join(__dirname, "..");

describe("the published package", function () {
    // A full compile of the library: slower than the other tests, and what consumers get.
    this.timeout(120_000);
    let outDir: string;

    before(() => {
        // Inside the checkout, so the build resolves node_modules as a consumer's install would.
        outDir = fs.mkdtempSync(path.join(ROOT, ".package-test-"));
        execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(ROOT, "tsconfig.build.json"), "--outDir", outDir], {
            stdio: "pipe",
        });
    });

    after(() => fs.rmSync(outDir, { recursive: true, force: true }));

    it("compiles to JavaScript with type declarations for the components and the client", () => {
        for (const file of ["components/index.js", "components/index.d.ts", "client/index.js", "client/index.d.ts", "client/cli.js"]) {
            assert.ok(fs.existsSync(path.join(outDir, file)), `${file} is built`);
        }
        assert.match(fs.readFileSync(path.join(outDir, "client/cli.js"), "utf8"), /^#!\/usr\/bin\/env node/);
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
