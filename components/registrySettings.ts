/**
 * What SelfHostedRegistry (Kubernetes) and LocalRegistry (Docker) share about
 * the distribution registry they run: its arguments and their validation, its
 * environment for each mode, the names its certificate carries and the htpasswd
 * file, so both registries are configured the same way.
 */
import * as crypto from "crypto";
import * as bcrypt from "bcryptjs";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { CertificateAuthority, KeyPair, createCertificateAuthority, existingCertificateAuthority, issueCertificate } from "./certificates";
import { RegistryWiring, SYSTEM_CA_DIR } from "./daemon";
import {
    ArgumentFields,
    InvalidArgumentError,
    arrayOf,
    booleanValue,
    caCertificates,
    caCertificatesInput,
    dnsName,
    goDurationString,
    imageReference,
    ipAddress,
    isOutput,
    knownKeys,
    lowerCaseDnsName,
    oneOf,
    optional,
    quantity,
    redacted,
    refuseBesideExistingClaim,
    registryHost,
    registryMirrorUrl,
    serverCertificate,
    subjectOf,
} from "./validation";

/** A pull-through `mirror` of one upstream registry, or a `private` registry that accepts pushes. */
export const RegistryMode = {
    /** A pull-through cache of one upstream registry; nobody can push to it. */
    Mirror: "mirror",
    /** A registry of your own images, with htpasswd users who push and pull. */
    Private: "private",
} as const;
export type RegistryMode = (typeof RegistryMode)[keyof typeof RegistryMode];
export const REGISTRY_MODES: readonly RegistryMode[] = Object.values(RegistryMode);

/**
 * A registry given to a daemon, with what every daemon reads off it checked: its host (certs.d
 * paths and the mirror flag are written from it), its mode and its CA. `expected` says what the
 * daemon takes, for the error about a value that is no object.
 */
export function wiredRegistry(value: unknown, argument: string, expected: string): RegistryWiring {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw new InvalidArgumentError(argument, value, expected);
    }
    const wiring = value as Partial<RegistryWiring>;
    registryHost(wiring.registryHost, `${argument}.registryHost`);
    oneOf(wiring.mode, REGISTRY_MODES, `${argument}.mode`);
    if (wiring.caCertPem === undefined) {
        throw new InvalidArgumentError(`${argument}.caCertPem`, undefined, "the CA that signed the registry's certificate");
    }
    return value as RegistryWiring;
}

/** distribution v3; pinned to a release so a new one arrives only when this package moves. */
export const DEFAULT_REGISTRY_IMAGE = "registry:3.0.0";
export const REGISTRY_PORT = 5000;
/** Docker Hub's registry API: `docker.io` itself only redirects. */
export const DEFAULT_UPSTREAM = "https://registry-1.docker.io";
export const REGISTRY_DATA_DIR = "/var/lib/registry";
export const REGISTRY_TLS_DIR = "/etc/distribution/tls";
/** Named as a kubernetes.io/tls Secret names them, so the Secret mounts as is. */
export const REGISTRY_TLS_FILES = { cert: "tls.crt", key: "tls.key" } as const;
export const REGISTRY_AUTH_DIR = "/etc/distribution/auth";
export const HTPASSWD_FILE = "htpasswd";
export const HTPASSWD_REALM = "pulumi-dind registry";
/** Where a mirror finds `upstreamCaCertPem`; Go adds every file of the directories in SSL_CERT_DIR to the system roots. */
export const REGISTRY_UPSTREAM_CA_DIR = "/etc/distribution/upstream-ca";
export const UPSTREAM_CA_FILE = "ca.crt";
/** The system's directory first, so a public upstream's roots stay trusted; Go reads the system bundle file either way. */
export const UPSTREAM_SSL_CERT_DIR = `${SYSTEM_CA_DIR}:${REGISTRY_UPSTREAM_CA_DIR}`;
export const DEFAULT_STORAGE_SIZE = "20Gi";

/** The keys under which the registry's secret settings are stored (Secret keys, upload names). */
export const SECRET_KEYS = {
    httpSecret: "http-secret",
    proxyUsername: "proxy-username",
    proxyPassword: "proxy-password",
    htpasswd: HTPASSWD_FILE,
} as const;

/** One account of a private registry. */
export interface RegistryUser {
    /** The name to `docker login` with: letters, digits and `.`, `_`, `@`, `-`. */
    username: string;
    /** The password, kept secret and stored only as a bcrypt hash. Default: a generated 32-character password (see `userPasswords`). */
    password?: pulumi.Input<string>;
}

/** Arguments both registries take. */
export interface RegistryArgs {
    /** `mirror`: a pull-through cache of `upstream`; `private`: a registry that accepts pushes. Default `mirror`. */
    mode?: RegistryMode;
    /** The registry a mirror caches, as an https URL of its root (mirror mode only). Default Docker Hub, https://registry-1.docker.io. */
    upstream?: string;
    /** The user a mirror logs in to `upstream` as, e.g. to lift Docker Hub's anonymous pull limit (mirror mode only). Default anonymous. */
    upstreamUsername?: pulumi.Input<string>;
    /** The password or access token for `upstreamUsername`, kept secret. Default none. */
    upstreamPassword?: pulumi.Input<string>;
    /** CA certificates (PEM, one or more, CA:TRUE) a mirror trusts for `upstream`, on top of the system's roots, e.g. a private registry's `caCertPem` (mirror mode, https upstream). Default: the system's roots only. */
    upstreamCaCertPem?: pulumi.Input<string>;
    /** How long a mirror keeps what it cached before fetching it again, as a Go duration such as "168h"; "0" keeps it for ever (registry 3's `proxy.ttl`; registry 2.8 ignores it). Default the registry's, 168h. */
    cacheTtl?: string;
    /** Accounts of a private registry (htpasswd, bcrypt); without any, anyone who reaches it may push. Default none. */
    users?: RegistryUser[];
    /** More DNS names clients use for the registry, added to its certificate. Default none. */
    hostnames?: string[];
    /** IP addresses clients use for the registry, added to its certificate. Default none. */
    ipAddresses?: string[];
    /** A CA certificate (PEM, CA:TRUE) to sign the registry's certificate with, instead of a new CA. Needs `caKeyPem`. Default: a new CA. */
    caCertPem?: pulumi.Input<string>;
    /** The private key (PEM) of `caCertPem`, kept secret. Default none. */
    caKeyPem?: pulumi.Input<string>;
    /** The registry's own server certificate (PEM), issued by `caCertPem` for every name clients use (see README); with `tlsKeyPem`, and no `caKeyPem`. Default: one issued at deploy time. */
    tlsCertPem?: pulumi.Input<string>;
    /** The private key (PEM) of `tlsCertPem`, kept secret. Default none. */
    tlsKeyPem?: pulumi.Input<string>;
    /** The registry image. Default `registry:3.0.0`. */
    image?: string;
}

/** The keys both registries take, for their own key lists. */
export const REGISTRY_ARG_FIELDS = {
    mode: true,
    upstream: true,
    upstreamUsername: true,
    upstreamPassword: true,
    upstreamCaCertPem: true,
    cacheTtl: true,
    users: true,
    hostnames: true,
    ipAddresses: true,
    caCertPem: true,
    caKeyPem: true,
    tlsCertPem: true,
    tlsKeyPem: true,
    image: true,
} as const satisfies ArgumentFields<RegistryArgs>;

/** A validated user; no password means a generated one. */
export interface RegistryUser {
    username: string;
    password?: pulumi.Input<string>;
}

/** Registry arguments, validated, with their defaults. */
export interface RegistrySettings {
    mode: RegistryMode;
    /** Only for a mirror. */
    upstream?: string;
    upstreamCredentials?: { username: pulumi.Input<string>; password: pulumi.Input<string> };
    /** Only for a mirror. */
    upstreamCaCertPem?: pulumi.Input<string>;
    /** Only for a mirror. */
    cacheTtl?: string;
    users: RegistryUser[];
    hostnames: string[];
    ipAddresses: string[];
    ca?: { certPem: pulumi.Input<string>; keyPem: pulumi.Input<string> };
    /** A server certificate the user brings, with the CA that issued it. */
    broughtCertificate?: { caCertPem: pulumi.Input<string>; certPem: pulumi.Input<string>; keyPem: pulumi.Input<string> };
    image: string;
}

const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
/** bcrypt reads no further; a longer password would be accepted with any suffix. */
const BCRYPT_MAX_BYTES = 72;

function username(value: unknown, argument: string): string {
    if (typeof value !== "string" || !USERNAME.test(value)) {
        throw new InvalidArgumentError(argument, value, "a user name of letters, digits, '.', '_', '@' and '-' (at most 64, no ':')");
    }
    return value;
}

/** A secret string: checked for emptiness (and length) when it is plain, left to the engine when it is an Output. */
function secretString(value: unknown, argument: string, maxBytes = Infinity): pulumi.Input<string> {
    if (typeof value === "string") {
        if (value === "" || Buffer.byteLength(value) > maxBytes) {
            const expected = maxBytes === Infinity ? "a non-empty string" : `1 to ${maxBytes} bytes (bcrypt ignores the rest)`;
            throw new InvalidArgumentError(argument, redacted(value), expected);
        }
        return value;
    }
    if (!isOutput(value)) {
        throw new InvalidArgumentError(argument, typeof value, "a string or a secret Output");
    }
    return value as pulumi.Input<string>;
}

function users(value: unknown, argument: string): RegistryUser[] {
    const list = arrayOf(value, argument, (entry, entryArgument) => {
        const user = knownKeys(entry as RegistryUser, ["username", "password"], entryArgument);
        return {
            username: username(user.username, `${entryArgument}.username`),
            password: user.password === undefined ? undefined : secretString(user.password, `${entryArgument}.password`, BCRYPT_MAX_BYTES),
        };
    });
    const seen = new Set<string>();
    list.forEach((user, index) => {
        if (seen.has(user.username)) {
            throw new InvalidArgumentError(`${argument}[${index}].username`, user.username, "each user name once");
        }
        seen.add(user.username);
    });
    return list;
}

/**
 * The CAs a mirror trusts for its upstream: only in mirror mode, only for an https
 * upstream, certificates only (a private key is refused unprinted), each CA:TRUE.
 * Checked now when plain; an Output (another registry's caCertPem) is left to the engine.
 */
function upstreamCaBundle(args: RegistryArgs, mode: RegistryMode, prefix: string): pulumi.Input<string> | undefined {
    const value = args.upstreamCaCertPem;
    if (value === undefined || mode === "private") {
        return undefined;
    }
    if (typeof args.upstream === "string" && args.upstream.startsWith("http://")) {
        throw new InvalidArgumentError(`${prefix}upstreamCaCertPem`, "a value", `nothing with an http:// ${prefix}upstream (a CA verifies a TLS upstream; ${prefix}upstream must be https://)`);
    }
    return caCertificatesInput(value, `${prefix}upstreamCaCertPem`);
}

/** A CA the user brings: both halves or neither, checked now when they are plain strings. */
function certificateAuthority(certPem: unknown, keyPem: unknown, prefix: string): RegistrySettings["ca"] {
    if (certPem === undefined && keyPem === undefined) {
        return undefined;
    }
    if (keyPem === undefined) {
        throw new InvalidArgumentError(`${prefix}caKeyPem`, keyPem, `the private key of ${prefix}caCertPem, which is given`);
    }
    if (certPem === undefined) {
        throw new InvalidArgumentError(`${prefix}caCertPem`, certPem, `the CA certificate of ${prefix}caKeyPem, which is given`);
    }
    if (typeof certPem === "string") {
        const [cert] = caCertificates(certPem, `${prefix}caCertPem`);
        if (typeof keyPem === "string") {
            matchingKey(keyPem, cert, `${prefix}caKeyPem`, `${prefix}caCertPem`);
        }
    }
    return { certPem: certPem as pulumi.Input<string>, keyPem: keyPem as pulumi.Input<string> };
}

/** The private key that `certPem` certifies, parsed; refused without printing it. */
function matchingKey(keyPem: string, cert: crypto.X509Certificate, argument: string, certArgument: string): void {
    let key: crypto.KeyObject;
    try {
        key = crypto.createPrivateKey(keyPem);
    } catch {
        throw new InvalidArgumentError(argument, redacted(keyPem), "a PEM private key");
    }
    if (!cert.checkPrivateKey(key)) {
        throw new InvalidArgumentError(argument, redacted(keyPem), `the private key of ${certArgument} (${subjectOf(cert)})`);
    }
}

/** A server certificate the user brings (tlsCertPem, tlsKeyPem) with its issuer (caCertPem), checked now when they are plain strings. */
function broughtCertificate(args: RegistryArgs, prefix: string): RegistrySettings["broughtCertificate"] {
    const { tlsCertPem, tlsKeyPem, caCertPem, caKeyPem } = args;
    if (tlsCertPem === undefined && tlsKeyPem === undefined) {
        return undefined;
    }
    if (tlsCertPem === undefined || tlsKeyPem === undefined) {
        const missing = tlsCertPem === undefined ? "tlsCertPem" : "tlsKeyPem";
        throw new InvalidArgumentError(`${prefix}${missing}`, undefined, "tlsCertPem and tlsKeyPem together, or neither");
    }
    if (caCertPem === undefined) {
        throw new InvalidArgumentError(`${prefix}caCertPem`, undefined, `the CA that issued ${prefix}tlsCertPem, which daemons are given to trust`);
    }
    if (caKeyPem !== undefined) {
        throw new InvalidArgumentError(`${prefix}caKeyPem`, "a value", `to be left out with ${prefix}tlsCertPem (nothing is signed at deploy time)`);
    }
    if (typeof tlsCertPem === "string") {
        const cert = serverCertificate(tlsCertPem, `${prefix}tlsCertPem`);
        if (typeof caCertPem === "string") {
            const [ca] = caCertificates(caCertPem, `${prefix}caCertPem`);
            if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
                throw new InvalidArgumentError(`${prefix}tlsCertPem`, subjectOf(cert), `a certificate issued by ${prefix}caCertPem (${subjectOf(ca)})`);
            }
        }
        if (typeof tlsKeyPem === "string") {
            matchingKey(tlsKeyPem, cert, `${prefix}tlsKeyPem`, `${prefix}tlsCertPem`);
        }
    }
    return { caCertPem, certPem: tlsCertPem, keyPem: tlsKeyPem };
}

/** The names a registry's server certificate carries: the component's own and the user's. */
export interface ServerNames {
    commonName: string;
    dnsNames: string[];
    ipAddresses: string[];
}

/**
 * A brought certificate must name everything clients dial (the component's own
 * names and the user's), in its subjectAltName: Go refuses a name only in the CN.
 * Checked before anything is registered.
 */
export function checkBroughtCertificateNames(
    settings: Pick<RegistrySettings, "broughtCertificate" | "hostnames" | "ipAddresses">,
    own: ServerNames,
    prefix: string,
): void {
    const certPem = settings.broughtCertificate?.certPem;
    if (typeof certPem !== "string") {
        return;
    }
    const cert = new crypto.X509Certificate(certPem);
    const { dnsNames, ipAddresses } = certificateNames(own, settings);
    const missing = [...dnsNames.filter((n) => cert.checkHost(n, { subject: "never" }) === undefined), ...ipAddresses.filter((ip) => cert.checkIP(ip) === undefined)];
    if (missing.length > 0) {
        throw new InvalidArgumentError(`${prefix}tlsCertPem`, cert.subjectAltName ?? "no subjectAltName", `a certificate whose subjectAltName has ${missing.join(", ")}`);
    }
}

/** Validates the arguments both registries share; `prefix` names where they came from (`args.`). */
export function validateRegistryArgs(args: RegistryArgs, prefix: string): RegistrySettings {
    const mode = oneOf(args.mode ?? "mirror", REGISTRY_MODES, `${prefix}mode`);
    if (mode === "mirror" && Array.isArray(args.users) && args.users.length > 0) {
        throw new InvalidArgumentError(
            `${prefix}users`,
            args.users.map((user) => user?.username),
            `no users in mirror mode: dockerd sends no credentials to a mirror, so an authenticated mirror is never used (set ${prefix}mode to "private")`,
        );
    }
    if (mode === "private") {
        for (const key of ["upstream", "upstreamUsername", "upstreamPassword", "upstreamCaCertPem", "cacheTtl"] as const) {
            if (args[key] !== undefined) {
                const given = key === "upstream" || key === "cacheTtl" ? args[key] : "a value";
                throw new InvalidArgumentError(`${prefix}${key}`, given, "nothing in private mode: a registry that accepts pushes proxies no upstream");
            }
        }
    }
    const brought = broughtCertificate(args, prefix);
    const upstreamCaCertPem = upstreamCaBundle(args, mode, prefix);
    if ((args.upstreamUsername === undefined) !== (args.upstreamPassword === undefined)) {
        const missing = args.upstreamUsername === undefined ? "upstreamUsername" : "upstreamPassword";
        throw new InvalidArgumentError(`${prefix}${missing}`, undefined, "upstreamUsername and upstreamPassword together, or neither");
    }
    return {
        mode,
        upstream: mode === "mirror" ? registryMirrorUrl(args.upstream ?? DEFAULT_UPSTREAM, `${prefix}upstream`) : undefined,
        upstreamCredentials:
            args.upstreamUsername === undefined || args.upstreamPassword === undefined
                ? undefined
                : {
                      username: secretString(args.upstreamUsername, `${prefix}upstreamUsername`),
                      password: secretString(args.upstreamPassword, `${prefix}upstreamPassword`),
                  },
        upstreamCaCertPem,
        cacheTtl: mode === "mirror" ? optional(args.cacheTtl, `${prefix}cacheTtl`, goDurationString) : undefined,
        users: users(args.users ?? [], `${prefix}users`),
        hostnames: arrayOf(args.hostnames ?? [], `${prefix}hostnames`, dnsName),
        ipAddresses: arrayOf(args.ipAddresses ?? [], `${prefix}ipAddresses`, ipAddress),
        ca: brought ? undefined : certificateAuthority(args.caCertPem, args.caKeyPem, prefix),
        broughtCertificate: brought,
        image: imageReference(args.image ?? DEFAULT_REGISTRY_IMAGE, `${prefix}image`),
    };
}

/** Where a Kubernetes registry keeps its data. */
export interface RegistryStorage {
    /** Keep the data on a PersistentVolumeClaim (true) or in an emptyDir that lives as long as the pod (false). Default: false for a mirror, true for a private registry. */
    persistent?: boolean;
    /** The claim's requested size, or the emptyDir's sizeLimit. Default 20Gi. */
    size?: string;
    /** The StorageClass of the claim. Default: the cluster's default class. */
    storageClass?: string;
    /** Mount this existing claim instead of creating one, e.g. the claim an earlier registry kept (`claimName`). Default none. */
    existingClaim?: string;
}

/** An emptyDir limited to `size`, a claim of `size` to create, or an existing claim. */
export type RegistryDataVolume =
    | { kind: "emptyDir"; size: string }
    | { kind: "claim"; size: string; storageClass?: string }
    | { kind: "existingClaim"; claimName: string };

export function validateStorage(value: RegistryStorage | undefined, mode: RegistryMode, argument: string): RegistryDataVolume {
    const storage = knownKeys(value ?? {}, ["persistent", "size", "storageClass", "existingClaim"], argument);
    const persistent =
        storage.persistent === undefined
            ? mode === "private" || storage.existingClaim !== undefined
            : booleanValue(storage.persistent, `${argument}.persistent`);
    refuseBesideExistingClaim(storage, "existingClaim", argument);
    if (storage.existingClaim !== undefined) {
        if (!persistent) {
            throw new InvalidArgumentError(`${argument}.persistent`, false, `true (or nothing) with ${argument}.existingClaim`);
        }
        return { kind: "existingClaim", claimName: lowerCaseDnsName(storage.existingClaim, `${argument}.existingClaim`) };
    }
    const size = quantity(storage.size ?? DEFAULT_STORAGE_SIZE, `${argument}.size`);
    if (!persistent) {
        if (storage.storageClass !== undefined) {
            const expected = `nothing for an emptyDir (set ${argument}.persistent to true for a claim)`;
            throw new InvalidArgumentError(`${argument}.storageClass`, storage.storageClass, expected);
        }
        return { kind: "emptyDir", size };
    }
    return {
        kind: "claim",
        size,
        storageClass: optional(storage.storageClass, `${argument}.storageClass`, lowerCaseDnsName),
    };
}

/**
 * The registry's plain settings as environment variables (every config key has
 * a `REGISTRY_<PATH>` form). Secret ones come from registrySecretEnvironment.
 */
export function registryEnvironment(settings: Pick<RegistrySettings, "mode" | "upstream" | "upstreamCaCertPem" | "cacheTtl" | "users">): Record<string, string> {
    const env: Record<string, string> = {
        REGISTRY_HTTP_ADDR: `:${REGISTRY_PORT}`,
        REGISTRY_HTTP_TLS_CERTIFICATE: `${REGISTRY_TLS_DIR}/${REGISTRY_TLS_FILES.cert}`,
        REGISTRY_HTTP_TLS_KEY: `${REGISTRY_TLS_DIR}/${REGISTRY_TLS_FILES.key}`,
        REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: REGISTRY_DATA_DIR,
        // registry:3 otherwise exports traces to localhost:4318 and logs an error for each.
        OTEL_TRACES_EXPORTER: "none",
    };
    if (settings.mode === "mirror") {
        env.REGISTRY_PROXY_REMOTEURL = settings.upstream ?? DEFAULT_UPSTREAM;
        // The cache's expiry (proxy.ttl) deletes blobs only when deletes are enabled; without it the cache only grows.
        env.REGISTRY_STORAGE_DELETE_ENABLED = "true";
        if (settings.cacheTtl !== undefined) {
            env.REGISTRY_PROXY_TTL = settings.cacheTtl;
        }
        if (settings.upstreamCaCertPem !== undefined) {
            // Go's crypto/x509 reads SSL_CERT_DIR in place of its default directories, and its bundle file regardless.
            env.SSL_CERT_DIR = UPSTREAM_SSL_CERT_DIR;
        }
    }
    if (settings.users.length > 0) {
        env.REGISTRY_AUTH = "htpasswd";
        env.REGISTRY_AUTH_HTPASSWD_REALM = HTPASSWD_REALM;
        env.REGISTRY_AUTH_HTPASSWD_PATH = `${REGISTRY_AUTH_DIR}/${HTPASSWD_FILE}`;
    }
    return env;
}

/** The registry's secret settings: each environment variable and the SECRET_KEYS entry that holds its value. */
export function registrySecretEnvironment(settings: Pick<RegistrySettings, "upstreamCredentials">): Record<string, string> {
    // Without a shared secret each start signs upload sessions with a new random one, failing uploads in flight.
    const env: Record<string, string> = { REGISTRY_HTTP_SECRET: SECRET_KEYS.httpSecret };
    if (settings.upstreamCredentials) {
        env.REGISTRY_PROXY_USERNAME = SECRET_KEYS.proxyUsername;
        env.REGISTRY_PROXY_PASSWORD = SECRET_KEYS.proxyPassword;
    }
    return env;
}

/** The values behind registrySecretEnvironment, by key. */
export function registrySecretValues(
    settings: Pick<RegistrySettings, "upstreamCredentials">,
    httpSecret: pulumi.Input<string>,
): Record<string, pulumi.Input<string>> {
    const values: Record<string, pulumi.Input<string>> = { [SECRET_KEYS.httpSecret]: httpSecret };
    if (settings.upstreamCredentials) {
        values[SECRET_KEYS.proxyUsername] = settings.upstreamCredentials.username;
        values[SECRET_KEYS.proxyPassword] = settings.upstreamCredentials.password;
    }
    return values;
}

/** The names a Service is reached by from pods, shortest first: all of them must be SANs. */
export function serviceDnsNames(service: string, namespace: string): string[] {
    return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

/** The registry certificate's SANs: the names the registry is known by, then the user's, each once. */
export function certificateNames(
    own: { dnsNames: string[]; ipAddresses: string[] },
    settings: Pick<RegistrySettings, "hostnames" | "ipAddresses">,
): { dnsNames: string[]; ipAddresses: string[] } {
    return {
        dnsNames: [...new Set([...own.dnsNames, ...settings.hostnames.map((h) => h.toLowerCase())])],
        ipAddresses: [...new Set([...own.ipAddresses, ...settings.ipAddresses])],
    };
}

/**
 * The registry's CA (the user's, or a new one) and its server certificate for
 * `own` names plus the user's `hostnames` and `ipAddresses`.
 */
export function registryCertificates(
    name: string,
    settings: Pick<RegistrySettings, "ca" | "broughtCertificate" | "hostnames" | "ipAddresses">,
    own: ServerNames,
    opts: pulumi.CustomResourceOptions,
): { ca: Pick<CertificateAuthority, "certPem">; server: KeyPair } {
    const brought = settings.broughtCertificate;
    if (brought) {
        return { ca: { certPem: pulumi.output(brought.caCertPem) }, server: { certPem: pulumi.output(brought.certPem), privateKeyPem: pulumi.secret(brought.keyPem) } };
    }
    const ca = settings.ca
        ? existingCertificateAuthority(settings.ca.certPem, settings.ca.keyPem)
        : createCertificateAuthority(name, "pulumi-dind registry CA", opts);
    const server = issueCertificate(`${name}-server`, ca, { commonName: own.commonName, ...certificateNames(own, settings), usage: "server" }, opts);
    return { ca, server };
}

/** An htpasswd file: one `user:bcrypt-hash` line per user, as distribution reads it. */
export function htpasswdFile(entries: { username: string; hash: string }[]): string {
    return entries.map((entry) => `${entry.username}:${entry.hash}\n`).join("");
}

/** bcrypt's cost, as @pulumi/random's bcryptHash uses. */
const BCRYPT_COST = 10;

/**
 * A bcrypt hash of `password` whose salt comes from `saltSeed` (a random value
 * kept in state), so the same password hashes the same on every `pulumi up`
 * and the htpasswd Secret, and the pods, change only when a password does.
 */
export function htpasswdHash(password: string, saltSeed: string): string {
    const salt = crypto.createHash("sha256").update(saltSeed).digest().subarray(0, 16);
    return bcrypt.hashSync(password, `$2a$${BCRYPT_COST}$${bcrypt.encodeBase64(salt, 16)}`);
}

export interface RegistryCredentials {
    /** The htpasswd file (hashes only), a secret; empty without users. */
    htpasswd: pulumi.Output<string>;
    /** Each user's password, given or generated, by user name; a secret. */
    passwords: pulumi.Output<Record<string, string>>;
}

/**
 * Passwords and their hashes for the users of a private registry. A generated
 * password is a RandomPassword `${name}-password-${username}` whose bcryptHash the
 * provider keeps in state; a given one is hashed here with a salt seeded by a
 * RandomPassword `${name}-salt-${username}` (prefixes no user name can forge). Either way the hash is stable
 * across runs. The only resources this module registers.
 */
export function createRegistryCredentials(name: string, users: RegistryUser[], opts: pulumi.CustomResourceOptions): RegistryCredentials {
    const generated = { length: 32, special: false };
    const entries = users.map((user) => {
        if (user.password === undefined) {
            const generatedPassword = new random.RandomPassword(`${name}-password-${user.username}`, generated, opts);
            return { username: user.username, password: generatedPassword.result, hash: generatedPassword.bcryptHash };
        }
        const seed = new random.RandomPassword(`${name}-salt-${user.username}`, generated, opts);
        const hash = pulumi.all([user.password, seed.result]).apply(([given, salt]) => htpasswdHash(given, salt));
        return { username: user.username, password: pulumi.output(user.password), hash };
    });
    const htpasswd = pulumi
        .all(entries.map((entry) => pulumi.all([entry.username, entry.hash])))
        .apply((pairs) => htpasswdFile(pairs.map(([username, hash]) => ({ username, hash }))));
    const passwords = pulumi
        .all(entries.map((entry) => pulumi.all([entry.username, entry.password])))
        .apply((pairs) => Object.fromEntries(pairs));
    return { htpasswd: pulumi.secret(htpasswd), passwords: pulumi.secret(passwords) };
}
