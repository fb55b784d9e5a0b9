/**
 * Certificates for the daemons' TLS transport and the self-hosted registries,
 * made with @pulumi/tls so private keys stay in Pulumi state as secrets.
 */
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";

/**
 * ECDSA P-256: fast to make and verify, accepted by Go's TLS stack that dockerd,
 * the docker CLI and the distribution registry use. An ECDSA key does not
 * encipher, so `key_encipherment` is only asked for RSA keys.
 */
const KEY = { algorithm: "ECDSA", ecdsaCurve: "P256" } as const;

/** @pulumi/tls reads snake_case; camelCase values are dropped with only a warning, leaving the usage out. */
export const CA_USES = ["cert_signing", "crl_signing", "digital_signature"];
export const SERVER_USES = ["digital_signature", "server_auth"];
export const CLIENT_USES = ["digital_signature", "client_auth"];

/** Long enough not to surprise an operator; `pulumi up` after early renewal issues a new one. */
const CA_VALIDITY_HOURS = 10 * 365 * 24;
const LEAF_VALIDITY_HOURS = 825 * 24;
const EARLY_RENEWAL_HOURS = 30 * 24;

export interface CertificateAuthority {
    /** The CA certificate (public). */
    certPem: pulumi.Output<string>;
    /** The CA's private key, a secret. */
    privateKeyPem: pulumi.Output<string>;
}

export interface KeyPair {
    certPem: pulumi.Output<string>;
    /** A secret. */
    privateKeyPem: pulumi.Output<string>;
}

/** A self-signed CA named `${name}-ca` whose key is `${name}-ca-key`. */
export function createCertificateAuthority(
    name: string,
    commonName: string,
    opts: pulumi.CustomResourceOptions,
): CertificateAuthority {
    const key = new tls.PrivateKey(`${name}-ca-key`, KEY, opts);
    const cert = new tls.SelfSignedCert(
        `${name}-ca`,
        {
            privateKeyPem: key.privateKeyPem,
            isCaCertificate: true,
            setSubjectKeyId: true,
            subject: { commonName, organization: "pulumi-dind" },
            allowedUses: CA_USES,
            validityPeriodHours: CA_VALIDITY_HOURS,
            earlyRenewalHours: EARLY_RENEWAL_HOURS,
        },
        opts,
    );
    return { certPem: cert.certPem, privateKeyPem: pulumi.secret(key.privateKeyPem) };
}

/** A CA the user brings: both PEMs, the key kept secret. */
export function existingCertificateAuthority(certPem: pulumi.Input<string>, privateKeyPem: pulumi.Input<string>): CertificateAuthority {
    return { certPem: pulumi.output(certPem), privateKeyPem: pulumi.secret(privateKeyPem) };
}

export interface LeafCertificateArgs {
    commonName: string;
    /** Every DNS name clients use: Go rejects certificates whose names are only in the CN. */
    dnsNames?: pulumi.Input<string[]>;
    ipAddresses?: pulumi.Input<string[]>;
    usage: "server" | "client";
}

/** A key `${name}-key` and a certificate `${name}` signed by `ca`. */
export function issueCertificate(
    name: string,
    ca: CertificateAuthority,
    args: LeafCertificateArgs,
    opts: pulumi.CustomResourceOptions,
): KeyPair {
    const key = new tls.PrivateKey(`${name}-key`, KEY, opts);
    const request = new tls.CertRequest(
        `${name}-csr`,
        {
            privateKeyPem: key.privateKeyPem,
            subject: { commonName: args.commonName, organization: "pulumi-dind" },
            dnsNames: args.dnsNames,
            ipAddresses: args.ipAddresses,
        },
        opts,
    );
    const cert = new tls.LocallySignedCert(
        name,
        {
            certRequestPem: request.certRequestPem,
            caCertPem: ca.certPem,
            caPrivateKeyPem: ca.privateKeyPem,
            allowedUses: args.usage === "server" ? SERVER_USES : CLIENT_USES,
            validityPeriodHours: LEAF_VALIDITY_HOURS,
            earlyRenewalHours: EARLY_RENEWAL_HOURS,
        },
        opts,
    );
    return { certPem: cert.certPem, privateKeyPem: pulumi.secret(key.privateKeyPem) };
}

/** What a daemon's mutual TLS needs: a CA, the daemon's pair and one client pair. */
export interface DaemonTls {
    caCertPem: pulumi.Output<string>;
    server: KeyPair;
    client: KeyPair;
}

/** CA, server and client certificates for a daemon reached at `dnsNames` and `ipAddresses`. */
export function createDaemonTls(
    name: string,
    names: { dnsNames: pulumi.Input<string[]>; ipAddresses: pulumi.Input<string[]> },
    opts: pulumi.CustomResourceOptions,
): DaemonTls {
    const ca = createCertificateAuthority(name, "pulumi-dind daemon CA", opts);
    const server = issueCertificate(`${name}-server`, ca, { commonName: "dockerd", ...names, usage: "server" }, opts);
    const client = issueCertificate(`${name}-client`, ca, { commonName: "docker-client", usage: "client" }, opts);
    return { caCertPem: ca.certPem, server, client };
}
