import * as assert from "assert";
import { parseCliArgs, UsageError } from "../../client/cli-args";
import { exitCodeFor } from "../../client/cli";
import { DaemonError, DaemonUnreachableError, ImageNotFoundError } from "../../client";

const noFlags = { host: undefined, tlsDir: undefined, debug: false };

describe("parseCliArgs", () => {
    it("takes IMAGE and everything after it as the command, options of the command included", () => {
        assert.deepStrictEqual(parseCliArgs(["busybox", "ls", "-la", "--host", "x"]), {
            command: "run",
            image: "busybox",
            cmd: ["ls", "-la", "--host", "x"],
            env: {},
            pull: "missing",
            ...noFlags,
        });
    });

    it("reads connection and run options before IMAGE", () => {
        const parsed = parseCliArgs(
            ["--host", "tcp://127.0.0.1:2376", "--tls-dir=/certs", "-e", "A=1", "--env=B=x=y", "--pull", "always", "--debug", "alpine:3.20", "true"],
            {},
        );
        assert.deepStrictEqual(parsed, {
            command: "run",
            image: "alpine:3.20",
            cmd: ["true"],
            env: { A: "1", B: "x=y" },
            pull: "always",
            host: "tcp://127.0.0.1:2376",
            tlsDir: "/certs",
            debug: true,
        });
    });

    it("copies -e KEY from the caller's environment, and leaves it out when unset", () => {
        const parsed = parseCliArgs(["-e", "TOKEN", "-e", "UNSET", "busybox"], { TOKEN: "s3cret" });
        assert.deepStrictEqual(parsed.command === "run" && parsed.env, { TOKEN: "s3cret" });
    });

    it("takes the word after -- as IMAGE even when it looks like a subcommand", () => {
        const parsed = parseCliArgs(["--debug", "--", "wait", "x"]);
        assert.strictEqual(parsed.command, "run");
        assert.deepStrictEqual(parsed.command === "run" && [parsed.image, parsed.cmd], ["wait", ["x"]]);
    });

    it("parses save with options anywhere after the subcommand", () => {
        assert.deepStrictEqual(parseCliArgs(["--host", "unix:///run/d.sock", "save", "a:1", "b:2", "-o", "out.tar"]), {
            command: "save",
            images: ["a:1", "b:2"],
            output: "out.tar",
            ...noFlags,
            host: "unix:///run/d.sock",
        });
        assert.strictEqual(parseCliArgs(["save", "-o", "out.tar", "a:1", "--debug"]).debug, true);
    });

    it("parses load and wait", () => {
        assert.deepStrictEqual(parseCliArgs(["load", "in.tar"]), { command: "load", file: "in.tar", ...noFlags });
        assert.deepStrictEqual(parseCliArgs(["wait"]), { command: "wait", timeoutMs: 60_000, ...noFlags });
        assert.deepStrictEqual(parseCliArgs(["wait", "--timeout", "2.5"]), { command: "wait", timeoutMs: 2_500, ...noFlags });
    });

    it("answers --help wherever it is asked", () => {
        for (const argv of [["--help"], ["-h"], ["--host", "x", "--help", "busybox"], ["save", "--help"], ["wait", "-h"]]) {
            assert.strictEqual(parseCliArgs(argv).command, "help", argv.join(" "));
        }
    });

    const usageErrors: [string[], RegExp][] = [
        [[], /missing IMAGE/],
        [["--host"], /argument missing/],
        [["--bogus", "busybox"], /Unknown option '--bogus'/],
        [["--pull", "sometimes", "busybox"], /--pull "sometimes": use missing, always or never/],
        [["-e", "=x", "busybox"], /needs a name/],
        [["save", "a:1"], /save needs -o FILE/],
        [["save", "-o", "x.tar"], /save needs at least one IMAGE/],
        [["load"], /load takes exactly one FILE, got 0/],
        [["load", "a", "b"], /load takes exactly one FILE, got 2/],
        [["wait", "--timeout", "soon"], /--timeout "soon": give a positive number of seconds/],
        [["wait", "--timeout", "0"], /positive number/],
        [["wait", "now"], /wait takes no arguments/],
    ];
    for (const [argv, message] of usageErrors) {
        it(`refuses ${JSON.stringify(argv)} with a UsageError`, () => {
            assert.throws(
                () => parseCliArgs(argv),
                (error: Error) => error instanceof UsageError && error.code === "USAGE" && message.test(error.message),
            );
        });
    }

    it("does not advise '--' for an unknown option, which would not help here", () => {
        assert.throws(() => parseCliArgs(["--bogus", "busybox"]), (error: Error) => !/To specify/.test(error.message));
    });
});

describe("exitCodeFor", () => {
    const startFailure = (message: string) => new DaemonError(message, message, 400);

    it("uses 125 for failures of dind-run or the daemon, as docker run does", () => {
        assert.strictEqual(exitCodeFor(new UsageError("x"), "run"), 125);
        assert.strictEqual(exitCodeFor(new DaemonUnreachableError("x", "unix:///x"), "wait"), 125);
        assert.strictEqual(exitCodeFor(new ImageNotFoundError("x", "y"), "run"), 125);
        assert.strictEqual(exitCodeFor(new Error("anything"), "load"), 125);
    });

    it("uses 127 for a command that does not exist and 126 for one that cannot be executed", () => {
        const notFound = 'OCI runtime create failed: exec: "nope": executable file not found in $PATH: unknown';
        assert.strictEqual(exitCodeFor(startFailure(notFound), "run"), 127);
        assert.strictEqual(exitCodeFor(startFailure('exec: "/bin/x": permission denied'), "run"), 126);
        assert.strictEqual(exitCodeFor(startFailure("open /var/lib/docker/tmp/x: no such file or directory"), "load"), 125);
    });
});
