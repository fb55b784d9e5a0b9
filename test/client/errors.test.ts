import * as assert from "assert";
import {
    AbortError,
    classifyError,
    DaemonError,
    DaemonUnreachableError,
    ImageNotFoundError,
    PullDeniedError,
    TlsMismatchError,
} from "../../client";
import { daemonMessageOf } from "../../client/errors";

const endpoint = "tcp://127.0.0.1:2376 (TLS)";

/** An error shaped as docker-modem builds it for an unexpected HTTP status. */
function modemError(statusCode: number, message: string): Error {
    return Object.assign(new Error(`(HTTP code ${statusCode}) unexpected - ${message} `), {
        statusCode,
        json: { message },
    });
}

/** An error shaped as Node's net/tls stack raises it. */
function systemError(code: string, message: string): Error {
    return Object.assign(new Error(message), { code });
}

describe("daemonMessageOf", () => {
    it("prefers the daemon's JSON message over docker-modem's wrapping", () => {
        assert.strictEqual(daemonMessageOf(modemError(404, "No such image: x:1")), "No such image: x:1");
    });

    it("reads plain-text bodies and unwraps bare modem messages", () => {
        assert.strictEqual(
            daemonMessageOf(Object.assign(new Error("x"), { json: Buffer.from("Client sent an HTTP request to an HTTPS server.\n") })),
            "Client sent an HTTP request to an HTTPS server.",
        );
        assert.strictEqual(daemonMessageOf(new Error("(HTTP code 500) server error - boom ")), "boom");
    });
});

describe("classifyError", () => {
    for (const code of ["ECONNREFUSED", "ENOENT", "EACCES", "ETIMEDOUT", "EHOSTUNREACH", "ECONNRESET"]) {
        it(`treats ${code} as an unreachable daemon, naming the endpoint`, () => {
            const error = classifyError(systemError(code, `connect ${code} /run/d.sock`), { endpoint });
            assert.ok(error instanceof DaemonUnreachableError);
            assert.strictEqual(error.code, "DAEMON_UNREACHABLE");
            assert.strictEqual(error.endpoint, endpoint);
            assert.match(error.message, new RegExp(`${endpoint.replace(/[()]/g, "\\$&")}: connect ${code}`));
        });
    }

    for (const code of [
        "DEPTH_ZERO_SELF_SIGNED_CERT",
        "SELF_SIGNED_CERT_IN_CHAIN",
        "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
        "CERT_HAS_EXPIRED",
        "ERR_TLS_CERT_ALTNAME_INVALID",
        "ERR_SSL_WRONG_VERSION_NUMBER",
        "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED",
        "EPROTO",
    ]) {
        it(`treats ${code} as a TLS mismatch`, () => {
            const error = classifyError(systemError(code, "certificate trouble"), { endpoint });
            assert.ok(error instanceof TlsMismatchError);
            assert.strictEqual(error.code, "TLS_MISMATCH");
            assert.match(error.message, /certificate trouble/);
        });
    }

    it("treats plaintext spoken to a TLS port as a TLS mismatch", () => {
        const error = classifyError(modemError(400, "Client sent an HTTP request to an HTTPS server."), { endpoint });
        assert.ok(error instanceof TlsMismatchError);
    });

    it("reports a missing image as ImageNotFoundError, outside of a pull", () => {
        for (const message of ["No such image: busybox:1.36", "reference does not exist"]) {
            const error = classifyError(modemError(404, message), { endpoint, image: "busybox:1.36" });
            assert.ok(error instanceof ImageNotFoundError, message);
            assert.strictEqual(error.image, "busybox:1.36");
            assert.match(error.message, new RegExp(message));
        }
    });

    it("does not mistake another missing thing for a missing image", () => {
        const error = classifyError(modemError(404, "network pulumi-e2e not found"), { endpoint, image: "busybox" });
        assert.ok(error instanceof DaemonError && error.statusCode === 404, String(error));
    });

    it("reports a registry's refusal during a pull as PullDeniedError with the daemon's words", () => {
        for (const message of [
            "pull access denied for nope, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
            "manifest for registry:5000/missing:latest not found: manifest unknown: manifest unknown",
            "unauthorized: authentication required",
            "Head \"https://registry:5000/v2/x/manifests/latest\": no basic auth credentials",
        ]) {
            const error = classifyError(new Error(message), { endpoint, image: "x", pulling: true });
            assert.ok(error instanceof PullDeniedError, message);
            assert.strictEqual(error.daemonMessage, message);
            assert.strictEqual(error.code, "PULL_DENIED");
        }
    });

    it("keeps other pull failures as DaemonError, as the registry did not refuse", () => {
        const message = 'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host';
        const error = classifyError(modemError(500, message), { endpoint, image: "busybox", pulling: true });
        assert.ok(error instanceof DaemonError);
        assert.strictEqual(error.statusCode, 500);
        assert.strictEqual(error.daemonMessage, message);
        assert.strictEqual(error.message, `pull of busybox: ${message}`);
    });

    it("turns an aborted request into AbortError", () => {
        const aborted = Object.assign(new Error("The operation was aborted"), { name: "AbortError", code: "ABORT_ERR" });
        const error = classifyError(aborted, { endpoint });
        assert.ok(error instanceof AbortError);
        assert.strictEqual(error.name, "AbortError");
    });

    it("passes the library's own errors through unchanged", () => {
        const original = new ImageNotFoundError("gone", "x");
        assert.strictEqual(classifyError(original, { endpoint, pulling: true, image: "x" }), original);
    });
});
