import { strict as assert } from "assert";
import * as crypto from "crypto";
import { capture, isSecret, sentAsSecret, valueOf } from "./harness";
import { createDaemonTls } from "../components/certificates";

describe("daemon TLS certificates", () => {
    it("signs a server certificate for every name clients use, and a client certificate, with one CA", async () => {
        let material!: ReturnType<typeof createDaemonTls>;
        const captured = await capture(() => {
            material = createDaemonTls("d", { dnsNames: ["localhost", "dind"], ipAddresses: ["127.0.0.1"] }, {});
        });
        const ca = new crypto.X509Certificate(await valueOf(material.caCertPem));
        const server = new crypto.X509Certificate(await valueOf(material.server.certPem));
        const client = new crypto.X509Certificate(await valueOf(material.client.certPem));

        assert.ok(ca.ca, "the CA certificate must say CA:TRUE");
        assert.ok(server.verify(ca.publicKey) && server.checkIssued(ca));
        assert.ok(client.verify(ca.publicKey) && client.checkIssued(ca));
        assert.ok(!server.ca);
        assert.equal(server.checkHost("dind"), "dind");
        assert.equal(server.checkIP("127.0.0.1"), "127.0.0.1");
        assert.deepEqual(server.keyUsage, ["1.3.6.1.5.5.7.3.1"], "server certificate must be for serverAuth");
        assert.deepEqual(client.keyUsage, ["1.3.6.1.5.5.7.3.2"], "client certificate must be for clientAuth");

        assert.ok(await isSecret(material.server.privateKeyPem));
        assert.ok(await isSecret(material.client.privateKeyPem));
        assert.equal(captured.ofType("tls:index/privateKey:PrivateKey").length, 3);
        const caCert = captured.get("tls:index/selfSignedCert:SelfSignedCert", "d-ca");
        assert.deepEqual(caCert.inputs.allowedUses, ["cert_signing", "crl_signing", "digital_signature"]);
        assert.ok(sentAsSecret(caCert, "privateKeyPem"), "the CA key must reach the provider as a secret");
    });
});
