/**
 * The components from another program, as a consumer gets them: the package built and
 * packed (`npm run build`, `npm pack`), installed into a project of its own beside the same
 * @pulumi/* packages, and deployed by the real engine.
 */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import Docker from "dockerode";
import { testImages } from "../e2e/support/engine";
import { PulumiProject, ROOT } from "./support/pulumiCli";

const PROGRAM = `import * as pulumi from "@pulumi/pulumi";
import { LocalDind } from "pulumi-dind";

const config = new pulumi.Config();
const dind = new LocalDind("builds", {
    socketDirectory: config.require("socketDirectory"),
    dindImage: config.require("dindImage"),
    retainDataVolume: false,
});
export const dockerHost = dind.dockerHost;
`;

/** node_modules with the packed package and, linked, the dependencies this checkout installed. */
function installPacked(project: PulumiProject): void {
    const modules = path.join(project.dir, "node_modules");
    fs.mkdirSync(modules);
    for (const entry of fs.readdirSync(path.join(ROOT, "node_modules"))) {
        fs.symlinkSync(path.join(ROOT, "node_modules", entry), path.join(modules, entry));
    }
    const tarball = execFileSync("npm", ["pack", "--silent", "--pack-destination", project.root], { cwd: ROOT, encoding: "utf8" }).trim().split("\n").pop()!;
    const target = path.join(modules, "pulumi-dind");
    fs.mkdirSync(target);
    execFileSync("tar", ["-xzf", path.join(project.root, tarball), "-C", target, "--strip-components=1"]);
}

describe("real engine: the components in a consumer's program", function () {
    let project: PulumiProject;

    before(function () {
        if (!fs.existsSync(path.join(ROOT, "bin/components/index.js"))) {
            throw new Error("the package is not built: run npm run build first");
        }
        project = PulumiProject.empty("consumer");
        installPacked(project);
    });

    after(async function () {
        await project?.pulumi(["destroy", "--yes", "-s", "dev"], { allowFailure: true });
        project?.dispose();
    });

    it("deploys a LocalDind imported from the packed package", async function () {
        const sockets = path.join(project.root, "sockets");
        fs.mkdirSync(sockets);
        project.writeFile("Pulumi.yaml", "name: consumer\nruntime:\n  name: nodejs\n  options:\n    typescript: true\nmain: index.ts\n");
        project.writeFile("index.ts", PROGRAM);
        project.writeFile("tsconfig.json", JSON.stringify({ compilerOptions: { strict: true, module: "commonjs", target: "ES2022", esModuleInterop: true } }));
        project.writeFile("Pulumi.dev.yaml", `config:\n  consumer:socketDirectory: ${sockets}\n  consumer:dindImage: ${testImages.dind}\n`);
        await project.initStack("dev");
        await project.up("dev");

        const { dockerHost } = await project.outputs("dev");
        assert.equal(dockerHost, `unix://${sockets}/docker.sock`);
        const version = await new Docker({ socketPath: path.join(sockets, "docker.sock") }).version();
        assert.ok(version.ApiVersion, "the consumer's daemon answers");
        const types = (await project.resources("dev")).map((r) => r.type);
        assert.ok(types.includes("pulumi-dind:index:LocalDind"));
    });

    it("keeps every resource of a stack deployed when the components' token was dind:index:*", async function () {
        // The state as the package before its schema wrote it: the same resources under the former token.
        const { stdout } = await project.pulumi(["stack", "export", "-s", "dev"]);
        const former = stdout.replace(/pulumi-dind:index:/g, "dind:index:");
        assert.notEqual(former, stdout);
        const stateFile = path.join(project.root, "former-state.json");
        fs.writeFileSync(stateFile, former);
        await project.pulumi(["stack", "import", "-s", "dev", "--file", stateFile]);
        assert.ok((await project.resources("dev")).some((r) => r.type === "dind:index:LocalDind"), "the stack holds the former token");

        // The aliases map each former URN, the children's through their parent's, onto the new one.
        await project.pulumi(["preview", "--expect-no-changes", "-s", "dev"]);
        await project.up("dev");
        const types = (await project.resources("dev")).map((r) => r.type);
        assert.ok(types.includes("pulumi-dind:index:LocalDind") && !types.includes("dind:index:LocalDind"), "the next up moves the stack onto the new token");
    });
});
