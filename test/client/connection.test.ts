import * as assert from "assert";
import * as os from "os";
import * as path from "path";
import {
    chooseApiVersion,
    connect,
    connectionOptions,
    createDocker,
    describeConnection,
    describeDocker,
    endpointFromEnv,
    InvalidEndpointError,
    resolveEndpoint,
    TlsMismatchError,
} from "../../client";
import { FakeDaemon, json } from "./fake-daemon";

const tls = { caCertPem: "CA", clientCertPem: "CERT", clientKeyPem: "KEY" };

/** A file reader over an in-memory directory, recording what was read. */
function fakeFiles(files: Record<string, string>) {
    const read: string[] = [];
    const readFile = (file: string) => {
        read.push(file);
        if (!(file in files)) {
            throw new Error(`ENOENT: no such file or directory, open '${file}'`);
        }
        return files[file];
    };
    return { read, readFile };
}

describe("connectionOptions", () => {
    it("takes the socket path of a unix:// address", () => {
        assert.deepStrictEqual(connectionOptions({ dockerHost: "unix:///var/run/docker.sock" }), {
            socketPath: "/var/run/docker.sock",
        });
    });

    it("refuses a unix:// address without an absolute path", () => {
        assert.throws(() => connectionOptions({ dockerHost: "unix://docker.sock" }), /absolute socket path/);
        assert.throws(() => connectionOptions({ dockerHost: "unix://" }), /absolute socket path/);
    });

    it("speaks plain HTTP to tcp://HOST:PORT without TLS", () => {
        assert.deepStrictEqual(connectionOptions({ dockerHost: "tcp://10.0.0.5:2375" }), {
            protocol: "http",
            host: "10.0.0.5",
            port: 2375,
        });
    });

    it("speaks HTTPS with the endpoint's PEMs when it has TLS", () => {
        assert.deepStrictEqual(connectionOptions({ dockerHost: "tcp://dind.ci.svc:2376", tls }), {
            protocol: "https",
            host: "dind.ci.svc",
            port: 2376,
            ca: "CA",
            cert: "CERT",
            key: "KEY",
        });
    });

    it("defaults the port as Docker does: 2375 in plaintext, 2376 with TLS", () => {
        assert.strictEqual((connectionOptions({ dockerHost: "tcp://docker" }) as { port: number }).port, 2375);
        assert.strictEqual((connectionOptions({ dockerHost: "tcp://docker", tls }) as { port: number }).port, 2376);
    });

    it("unwraps an IPv6 literal", () => {
        assert.deepStrictEqual(connectionOptions({ dockerHost: "tcp://[::1]:2375" }), {
            protocol: "http",
            host: "::1",
            port: 2375,
        });
    });

    for (const bad of ["ssh://user@host", "http://127.0.0.1:2375", "npipe:////./pipe/docker_engine", "127.0.0.1:2375", ""]) {
        it(`refuses ${JSON.stringify(bad)} naming the setting and the value`, () => {
            assert.throws(
                () => connectionOptions({ dockerHost: bad }, "DOCKER_HOST"),
                (error: Error) => {
                    assert.ok(error instanceof InvalidEndpointError);
                    assert.strictEqual(error.code, "INVALID_ENDPOINT");
                    assert.ok(error.message.startsWith(`DOCKER_HOST=${JSON.stringify(bad)} `), error.message);
                    assert.match(error.message, /unix:\/\/\/path\/to\/docker\.sock or tcp:\/\/HOST:PORT/);
                    return true;
                },
            );
        });
    }

    it("refuses a path after the port", () => {
        assert.throws(() => connectionOptions({ dockerHost: "tcp://host:2375/api" }), /nothing after the port/);
    });
});

describe("describeConnection", () => {
    it("writes endpoints as DOCKER_HOST values, marking TLS", () => {
        assert.strictEqual(describeConnection({ socketPath: "/run/d.sock" }), "unix:///run/d.sock");
        assert.strictEqual(describeConnection({ protocol: "http", host: "::1", port: 2375 }), "tcp://[::1]:2375");
        assert.strictEqual(describeConnection({ protocol: "https", host: "d", port: 2376 }), "tcp://d:2376 (TLS)");
    });
});

describe("resolveEndpoint / endpointFromEnv", () => {
    it("uses Docker's default socket when DOCKER_HOST is unset or empty", () => {
        assert.deepStrictEqual(endpointFromEnv({}), { dockerHost: "unix:///var/run/docker.sock" });
        assert.deepStrictEqual(endpointFromEnv({ DOCKER_HOST: "" }), { dockerHost: "unix:///var/run/docker.sock" });
    });

    it("reads ca.pem, cert.pem and key.pem from DOCKER_CERT_PATH when DOCKER_TLS_VERIFY is set", () => {
        const files = fakeFiles({ "/certs/client/ca.pem": "CA", "/certs/client/cert.pem": "CERT", "/certs/client/key.pem": "KEY" });
        const env = { DOCKER_HOST: "tcp://docker:2376", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "/certs/client" };
        assert.deepStrictEqual(endpointFromEnv(env, files.readFile), { dockerHost: "tcp://docker:2376", tls });
    });

    it("looks in ~/.docker when DOCKER_CERT_PATH is unset, as Docker's CLI does", () => {
        const files = fakeFiles({});
        assert.throws(() => endpointFromEnv({ DOCKER_HOST: "tcp://d:2376", DOCKER_TLS_VERIFY: "1" }, files.readFile));
        assert.strictEqual(path.dirname(files.read[0]), path.join(os.homedir(), ".docker"));
    });

    it("ignores DOCKER_CERT_PATH without DOCKER_TLS_VERIFY", () => {
        const files = fakeFiles({});
        const env = { DOCKER_HOST: "tcp://d:2375", DOCKER_CERT_PATH: "/certs" };
        assert.deepStrictEqual(endpointFromEnv(env, files.readFile), { dockerHost: "tcp://d:2375" });
        assert.deepStrictEqual(files.read, []);
    });

    it("names DOCKER_CERT_PATH and the missing file", () => {
        const files = fakeFiles({ "/certs/ca.pem": "CA" });
        const env = { DOCKER_HOST: "tcp://d:2376", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "/certs" };
        assert.throws(() => endpointFromEnv(env, files.readFile), /cannot read cert\.pem from DOCKER_CERT_PATH=\/certs: ENOENT/);
    });

    it("names DOCKER_HOST when its value is unusable", () => {
        assert.throws(() => endpointFromEnv({ DOCKER_HOST: "ssh://me@host" }), /^InvalidEndpointError: DOCKER_HOST="ssh:\/\/me@host"/);
    });

    it("lets explicit settings override the environment and names them in errors", () => {
        const files = fakeFiles({ "/tls/ca.pem": "CA", "/tls/cert.pem": "CERT", "/tls/key.pem": "KEY" });
        const env = { DOCKER_HOST: "unix:///var/run/docker.sock", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "/elsewhere" };
        assert.deepStrictEqual(resolveEndpoint({ host: "tcp://127.0.0.1:40001", tlsDir: "/tls" }, env, files.readFile), {
            dockerHost: "tcp://127.0.0.1:40001",
            tls,
        });
        assert.throws(() => resolveEndpoint({ host: "127.0.0.1:2375" }, {}), /^InvalidEndpointError: --host="127\.0\.0\.1:2375"/);
        assert.throws(() => resolveEndpoint({ tlsDir: "/nowhere" }, {}, fakeFiles({}).readFile), /from --tls-dir=\/nowhere/);
    });
});

describe("chooseApiVersion", () => {
    it("speaks an older daemon's own version", () => {
        assert.strictEqual(chooseApiVersion({ ApiVersion: "1.41", MinAPIVersion: "1.12" }), "1.41");
    });

    it("asks a newer daemon for the newest version this library knows", () => {
        assert.strictEqual(chooseApiVersion({ ApiVersion: "1.52", MinAPIVersion: "1.44" }), "1.45");
    });

    it("compares versions as numbers, not strings, and refuses daemons older than it needs", () => {
        // As strings "1.9" sorts after "1.30"; as versions it is far older.
        assert.throws(() => chooseApiVersion({ ApiVersion: "1.9", MinAPIVersion: "1.9" }), /needs 1\.30 or newer/);
    });

    it("rises to a daemon's minimum when that is above the newest known", () => {
        assert.strictEqual(chooseApiVersion({ ApiVersion: "1.60", MinAPIVersion: "1.50" }), "1.50");
    });
});

describe("createDocker", () => {
    const saved = process.env.DOCKER_HOST;
    after(() => {
        if (saved === undefined) {
            delete process.env.DOCKER_HOST;
        } else {
            process.env.DOCKER_HOST = saved;
        }
    });

    it("dials the endpoint given even when DOCKER_HOST says otherwise", () => {
        process.env.DOCKER_HOST = "tcp://10.9.9.9:2375";
        assert.strictEqual(describeDocker(createDocker({ dockerHost: "unix:///run/dind/docker.sock" })), "unix:///run/dind/docker.sock");
    });
});

describe("connect", () => {
    let daemon: FakeDaemon;
    afterEach(async () => daemon?.close());

    it("negotiates the API version with an unversioned GET /version and pins it", async () => {
        daemon = await FakeDaemon.start({
            "GET /version": json(200, { ApiVersion: "1.43", MinAPIVersion: "1.12", Version: "24.0.7" }),
            "GET /_ping": (_req, res) => res.end("OK"),
        });
        const docker = await connect({ dockerHost: daemon.dockerHost });
        await docker.ping();
        assert.deepStrictEqual(
            daemon.requests.map((r) => `${r.version ?? "unversioned"} ${r.method} ${r.path}`),
            ["unversioned GET /version", "v1.43 GET /_ping"],
        );
    });

    it("reports a TLS listener spoken to in plaintext as TlsMismatchError", async () => {
        daemon = await FakeDaemon.start({
            "GET /version": (_req, res) => {
                res.writeHead(400, { "Content-Type": "text/plain" });
                res.end("Client sent an HTTP request to an HTTPS server.\n");
            },
        });
        await assert.rejects(connect({ dockerHost: daemon.dockerHost }), (error: Error) => {
            assert.ok(error instanceof TlsMismatchError, String(error));
            assert.match(error.message, /requires TLS/);
            return true;
        });
    });
});
