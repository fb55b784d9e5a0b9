/**
 * The checks every component and the program share. One convention: a check of one
 * value is named for what it accepts (`quantity`, `registryHost`, `networkMtu`) and
 * returns the value, or throws an InvalidArgumentError naming `argument`; a check of
 * a component's whole args is `validate<Component>Args` in the component's file.
 */
import * as crypto from "crypto";
import * as net from "net";
import * as pulumi from "@pulumi/pulumi";
import { AsnConvert } from "@peculiar/asn1-schema";
import { Certificate, KeyUsage, KeyUsageFlags, id_ce_keyUsage } from "@peculiar/asn1-x509";

/**
 * Bad input, reported before any resource is registered. `argument` is the
 * config key or component argument as the user wrote it, so the message points
 * at the line to fix. A RunError, so `pulumi up` prints the message as one line,
 * without a stack trace or the error's fields (which hold the value given).
 */
export class InvalidArgumentError extends pulumi.RunError {
    constructor(
        readonly argument: string,
        readonly given: unknown,
        readonly expected: string,
    ) {
        super(`${argument}: expected ${expected}, got ${describe(given)}`);
        this.name = "InvalidArgumentError";
    }
}

/** Keys whose values are never printed, misspelt ones included ("pasword", "tlsKeyPm"). */
const SECRET_KEY = /pas+w|pwd|secret|token|key|cred|auth/i;
const PRIVATE_KEY_BLOCK = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;
/** user:password@ in a URL, wherever it appears in a string. */
const URL_CREDENTIALS = /(\/\/)[^/@\s]*@/g;

/**
 * The value given, as an error shows it: JSON-like, with NaN, Infinity and BigInt
 * spelt as written, and nothing secret (values under secret-looking keys, private
 * keys, credentials in URLs, Outputs) printed.
 */
export function describe(value: unknown): string {
    if (value === undefined) {
        return "nothing";
    }
    const text = render(value, 0);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function render(value: unknown, depth: number): string {
    switch (typeof value) {
        case "string":
            return JSON.stringify(value.replace(PRIVATE_KEY_BLOCK, "[private key]").replace(URL_CREDENTIALS, "$1[credentials]@"));
        case "number":
            return Object.is(value, -0) ? "-0" : String(value);
        case "bigint":
            return `${value}n`;
        case "boolean":
            return String(value);
        case "undefined":
            return "undefined";
        case "function":
        case "symbol":
            return `a ${typeof value}`;
    }
    if (value === null) {
        return "null";
    }
    if (isOutput(value)) {
        return "an Output";
    }
    if (depth > 3) {
        return Array.isArray(value) ? "[...]" : "{...}";
    }
    if (Array.isArray(value)) {
        return `[${value.map((element) => render(element, depth + 1)).join(",")}]`;
    }
    const entries = Object.entries(value as object).map(
        ([key, element]) => `${JSON.stringify(key)}:${SECRET_KEY.test(key) && element !== undefined ? '"[secret]"' : render(element, depth + 1)}`,
    );
    return `{${entries.join(",")}}`;
}

/** A value the engine resolves later: checked then, by the engine, not now. */
export function isOutput(value: unknown): boolean {
    return pulumi.Output.isInstance(value) || value instanceof Promise;
}

export function oneOf<T extends string>(value: unknown, allowed: readonly T[], argument: string): T {
    if (typeof value !== "string" || !allowed.includes(value as T)) {
        throw new InvalidArgumentError(argument, value, `one of ${allowed.map((a) => `"${a}"`).join(", ")}`);
    }
    return value as T;
}

export function integerInRange(value: unknown, min: number, max: number, argument: string): number {
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
        throw new InvalidArgumentError(argument, value, `an integer from ${min} to ${max}`);
    }
    return value;
}

export function nonEmptyString(value: unknown, argument: string): string {
    if (typeof value !== "string" || value.trim() === "") {
        throw new InvalidArgumentError(argument, value, "a non-empty string");
    }
    return value;
}

export function booleanValue(value: unknown, argument: string): boolean {
    if (typeof value !== "boolean") {
        throw new InvalidArgumentError(argument, value, "true or false");
    }
    return value;
}

export function arrayOf<T>(value: unknown, argument: string, item: (element: unknown, argument: string) => T): T[] {
    if (!Array.isArray(value)) {
        throw new InvalidArgumentError(argument, value, "a list");
    }
    return value.map((element, index) => item(element, `${argument}[${index}]`));
}

/** Checks a value only when it is given; absent stays absent. */
export function optional<T>(value: unknown, argument: string, check: (value: unknown, argument: string) => T): T | undefined {
    return value === undefined ? undefined : check(value, argument);
}

/** Rejects keys an object may not have, so a typo is reported instead of silently ignored; the misspelt key's value is never printed. */
export function knownKeys<T extends object>(value: T, allowed: readonly string[], argument: string): T {
    return checkKeys(value, allowed, argument, (key) => `${argument}.${key}`);
}

/**
 * A component's own args: an object (or nothing) with only `allowed` keys, named
 * `${prefix}${key}` (`args.` or a config namespace such as `dind:`).
 */
export function knownArgs<T extends object>(value: T | undefined | null, allowed: readonly (keyof T & string)[], prefix: string): T {
    if (value === undefined) {
        return {} as T;
    }
    return checkKeys(value as T, allowed, prefix.replace(/[.:]$/, ""), (key) => `${prefix}${key}`);
}

function checkKeys<T extends object>(value: T, allowed: readonly string[], argument: string, keyArgument: (key: string) => string): T {
    if (typeof value !== "object" || value === null || Array.isArray(value) || isOutput(value)) {
        throw new InvalidArgumentError(argument, value, `an object with ${allowed.join(", ")}`);
    }
    for (const key of Object.keys(value)) {
        if (!allowed.includes(key) || UNSAFE_KEYS.includes(key)) {
            throw new InvalidArgumentError(keyArgument(key), "a value", `no such key: the keys are ${allowed.join(", ")}`);
        }
    }
    return value;
}

/** Every key of an args interface, each marked `true`: the compiler refuses a list that misses or adds one. */
export type ArgumentFields<T> = { [K in keyof Required<T>]: true };

/** The keys of an args interface, from its ArgumentFields. */
export function argumentKeys<T extends object>(fields: ArgumentFields<T>): (keyof T & string)[] {
    return Object.keys(fields) as (keyof T & string)[];
}

/** Keys that would reach an object's prototype when copied. */
export const UNSAFE_KEYS: readonly string[] = ["__proto__", "constructor", "prototype"];

export function stringMap(value: unknown, argument: string): Record<string, string> {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw new InvalidArgumentError(argument, value, "a map of strings");
    }
    for (const [key, element] of Object.entries(value)) {
        if (typeof element !== "string") {
            throw new InvalidArgumentError(`${argument}.${key}`, element, "a string");
        }
    }
    return value as Record<string, string>;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** A path component of an image repository, as the distribution reference grammar writes it. */
const IMAGE_PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const IMAGE_REFERENCE = new RegExp(
    `^(?:(?:[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?/)?` +
        `${IMAGE_PATH_COMPONENT}(?:/${IMAGE_PATH_COMPONENT})*(?::[\\w][\\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$`,
);

/** An image reference (`docker:29-dind`, `registry.internal:5000/team/dind:1@sha256:...`) as Docker and the kubelet parse it. */
export function imageReference(value: unknown, argument: string): string {
    if (typeof value !== "string" || value.length > 255 || !IMAGE_REFERENCE.test(value)) {
        throw new InvalidArgumentError(argument, value, "an image reference such as docker:29-dind or registry.example.com:5000/team/dind:29@sha256:<64 hex>");
    }
    return value;
}

/** A Kubernetes object name (RFC 1123 label): namespaces, Services, claims. */
export function kubernetesName(value: unknown, argument: string): string {
    if (typeof value !== "string" || !DNS_LABEL.test(value)) {
        throw new InvalidArgumentError(
            argument,
            value,
            "a lower-case RFC 1123 name (a-z, 0-9 and '-', at most 63 characters, starting and ending alphanumeric)",
        );
    }
    return value;
}

export function absolutePath(value: unknown, argument: string): string {
    if (typeof value !== "string" || !value.startsWith("/") || value === "/") {
        throw new InvalidArgumentError(argument, value, "an absolute path other than /");
    }
    return value;
}

/** A lower-case DNS name: Kubernetes object names that may contain dots (ConfigMaps, claims, StorageClasses), network aliases. */
export function lowerCaseDnsName(value: unknown, argument: string): string {
    if (typeof value !== "string" || value !== value.toLowerCase()) {
        throw new InvalidArgumentError(argument, value, "a lower-case DNS name (a-z, 0-9, '-' and '.')");
    }
    return dnsName(value, argument);
}

/** A DNS name as it may appear in a certificate's SANs. */
export function dnsName(value: unknown, argument: string): string {
    const labels = typeof value === "string" ? value.toLowerCase().split(".") : [];
    const valid =
        typeof value === "string" &&
        value.length <= 253 &&
        labels.every((label) => /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(label));
    if (!valid) {
        throw new InvalidArgumentError(argument, value, "a DNS name such as registry.example.com");
    }
    return value as string;
}

export function ipAddress(value: unknown, argument: string): string {
    if (typeof value !== "string" || !isIp(value)) {
        throw new InvalidArgumentError(argument, value, "an IPv4 or IPv6 address");
    }
    return value;
}

function isIp(value: string): boolean {
    return net.isIP(value) !== 0;
}

/**
 * A registry as image references name it: `host` or `host:port`, no scheme and no
 * path. The same string names its directory under /etc/docker/certs.d.
 */
export function registryHost(value: unknown, argument: string): string {
    const expected = "a registry host as image references write it (host or host:port, no scheme, no path)";
    if (typeof value !== "string" || value.includes("/") || value.includes("://")) {
        throw new InvalidArgumentError(argument, value, expected);
    }
    const match = /^(\[[0-9a-fA-F:]+\]|[^:]+)(?::(\d+))?$/.exec(value);
    if (!match) {
        throw new InvalidArgumentError(argument, value, expected);
    }
    const [, host, port] = match;
    const hostIsValid = host.startsWith("[") ? isIp(host.slice(1, -1)) : isIp(host) || isDnsName(host);
    if (!hostIsValid) {
        throw new InvalidArgumentError(argument, value, expected);
    }
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535 || port.startsWith("0"))) {
        throw new InvalidArgumentError(argument, value, "a port from 1 to 65535 after the host");
    }
    return value;
}

function isDnsName(value: string): boolean {
    try {
        dnsName(value, "");
        return true;
    } catch {
        return false;
    }
}

/**
 * A registry mirror for dockerd's `--registry-mirror`: https, and the root of the
 * host, because dockerd appends /v2/ itself and ignores (or trips on) a path.
 */
export function registryMirrorUrl(value: unknown, argument: string): string {
    const expected = "an https:// URL of a registry's root, such as https://mirror.example.com:5000";
    if (typeof value !== "string" || !value.startsWith("https://")) {
        throw new InvalidArgumentError(argument, value, expected);
    }
    // The URL parser would drop whitespace, turn '\\' into '/', decode '%' and turn a Unicode host into punycode: the URL dockerd got would not be the one written.
    if (/[^\x21-\x7e]|[\\%]/.test(value)) {
        throw new InvalidArgumentError(argument, value, `${expected}, in printable ASCII without spaces, '\\' or '%' (write an international host in its xn-- form)`);
    }
    let url: URL;
    try {
        url = new URL(value);
    } catch {
        throw new InvalidArgumentError(argument, value, expected);
    }
    if ((url.pathname !== "/" && url.pathname !== "") || /[?#@]/.test(value)) {
        throw new InvalidArgumentError(argument, value, `${expected} (no path, query, fragment or credentials)`);
    }
    registryHost(url.host, argument);
    return value.replace(/\/$/, "");
}

/** Names a secret in an error without printing it. */
export function redacted(value: string): string {
    return `a secret of ${Buffer.byteLength(value)} bytes`;
}

/** A certificate argument holding a private key (a pasted key, or a bundle with one) is refused without printing any of it. */
function refusePrivateKey(value: unknown, argument: string, expected: string): void {
    if (typeof value === "string" && /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(value)) {
        throw new InvalidArgumentError(argument, redacted(value), `${expected}, and no private key`);
    }
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/**
 * One or more PEM certificates, as Go reads a file of roots or a served chain:
 * every block must be a CERTIFICATE that parses, and there must be at least one.
 * A private key anywhere in it is refused without printing it.
 */
export function pemCertificates(value: unknown, argument: string): crypto.X509Certificate[] {
    const expected = "one or more PEM-encoded X.509 certificates (-----BEGIN CERTIFICATE-----)";
    refusePrivateKey(value, argument, expected);
    const blocks = typeof value === "string" ? [...value.matchAll(PEM_BLOCK)] : [];
    if (blocks.length === 0) {
        throw new InvalidArgumentError(argument, value, expected);
    }
    return blocks.map((block, index) => {
        const what = blockName(index, blocks.length);
        if (block[1] !== "CERTIFICATE") {
            throw new InvalidArgumentError(argument, `${what}: ${block[1]}`, `${expected} and nothing else`);
        }
        try {
            return new crypto.X509Certificate(block[0]);
        } catch {
            throw new InvalidArgumentError(argument, `${what}: a CERTIFICATE that does not parse`, expected);
        }
    });
}

function blockName(index: number, count: number): string {
    return count > 1 ? `block ${index + 1} of ${count}` : "the block";
}

/** A certificate's subject on one line, as errors name it. */
export function subjectOf(cert: crypto.X509Certificate): string {
    return cert.subject.replace(/\n/g, ", ");
}

/** The key usage bits a certificate states, or undefined when it has no keyUsage extension. */
function keyUsage(cert: crypto.X509Certificate): KeyUsageFlags | undefined {
    const parsed = AsnConvert.parse(cert.raw, Certificate);
    const extension = parsed.tbsCertificate.extensions?.find((e) => e.extnID === id_ce_keyUsage);
    return extension === undefined ? undefined : AsnConvert.parse(extension.extnValue.buffer, KeyUsage).toNumber();
}

/** Refuses a certificate outside its validity period at `now`. */
function requireValidNow(cert: crypto.X509Certificate, argument: string, what: string, now: Date): void {
    if (now < new Date(cert.validFrom)) {
        throw new InvalidArgumentError(argument, `${what}: ${subjectOf(cert)}, valid from ${cert.validFrom}`, "a certificate valid now, not one that is not yet valid");
    }
    if (now > new Date(cert.validTo)) {
        throw new InvalidArgumentError(argument, `${what}: ${subjectOf(cert)}, expired ${cert.validTo}`, "a certificate valid now, not an expired one");
    }
}

/**
 * CA certificates that Go verifies a chain with: each valid now, basicConstraints
 * CA:TRUE, and keyCertSign among its key usages when it states any (a CA without
 * the extension signs anything, as RFC 5280 and Go allow).
 */
export function caCertificates(value: unknown, argument: string, now = new Date()): crypto.X509Certificate[] {
    const certs = pemCertificates(value, argument);
    certs.forEach((cert, index) => {
        const what = blockName(index, certs.length);
        // Checked first: OpenSSL, behind `cert.ca`, also denies a CA whose key usage lacks keyCertSign.
        const usage = keyUsage(cert);
        if (usage !== undefined && (usage & KeyUsageFlags.keyCertSign) === 0) {
            throw new InvalidArgumentError(argument, `${what}: ${subjectOf(cert)}`, "a CA certificate whose key usage includes keyCertSign (certificate signing)");
        }
        if (!cert.ca) {
            throw new InvalidArgumentError(argument, `${what}: ${subjectOf(cert)}`, "a CA certificate (basicConstraints CA:TRUE)");
        }
        requireValidNow(cert, argument, what, now);
    });
    return certs;
}

/** A server's certificate (a chain may follow it), valid now and not a CA; returns the server's own. */
export function serverCertificate(value: unknown, argument: string, now = new Date()): crypto.X509Certificate {
    const [cert] = pemCertificates(value, argument);
    if (cert.ca) {
        throw new InvalidArgumentError(argument, subjectOf(cert), "a server certificate, not a CA (basicConstraints CA:FALSE)");
    }
    requireValidNow(cert, argument, "the certificate", now);
    return cert;
}

/** Like caCertificates, for an argument that may also be an Output resolved later (left to the engine). */
export function caCertificatesInput<T>(value: T, argument: string): T {
    if (!isOutput(value)) {
        caCertificates(value, argument);
    }
    return value;
}

/** A unit Go's time.ParseDuration takes, after a number. */
const GO_DURATION = /^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/;

/** A Go duration as a registry's config takes it ("168h", "1h30m"), or "0"; no sign, and no bare number (Go reads it as nanoseconds). */
export function goDurationString(value: unknown, argument: string): string {
    if (typeof value !== "string" || (value !== "0" && !GO_DURATION.test(value))) {
        throw new InvalidArgumentError(argument, value, 'a Go duration such as "168h" or "1h30m" (units ns, us, ms, s, m, h), or "0"');
    }
    return value;
}

/**
 * A claim that exists already has its size and class: `size` or `storageClass` beside
 * `value[existingKey]` would be ignored, so they are refused.
 */
export function refuseBesideExistingClaim<T extends { size?: unknown; storageClass?: unknown }>(value: T, existingKey: keyof T & string, argument: string): void {
    if (value[existingKey] === undefined) {
        return;
    }
    for (const key of ["size", "storageClass"] as const) {
        if (value[key] !== undefined) {
            throw new InvalidArgumentError(`${argument}.${key}`, value[key], `nothing with ${argument}.${existingKey}: the claim exists already`);
        }
    }
}

/** Sizes and amounts are never negative here, so no sign is accepted. */
const QUANTITY = /^(\d+(?:\.\d*)?|\.\d+)([eE][-+]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$/;
const QUANTITY_SUFFIXES: Record<string, number> = {
    "": 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
    Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A quantity's value as a number, for comparing two of them. */
export function quantityValue(value: string): number {
    const [, number, suffix = ""] = QUANTITY.exec(value)!;
    return /^[eE]/.test(suffix) ? Number(number + suffix) : Number(number) * QUANTITY_SUFFIXES[suffix];
}

/** A Kubernetes resource quantity such as 20Gi, 500m or 1.5, above 0: the kubelet reads a zero size or limit as no bound at all. */
export function quantity(value: unknown, argument: string): string {
    if (typeof value !== "string" || !QUANTITY.test(value)) {
        throw new InvalidArgumentError(argument, value, "a Kubernetes quantity such as 10Gi, 512Mi or 500m");
    }
    if (quantityValue(value) === 0) {
        throw new InvalidArgumentError(argument, value, "a quantity above 0 (the kubelet reads 0 as unbounded; leave the key out for no bound)");
    }
    return value;
}

export const MTU_RANGE = { min: 68, max: 65535 } as const;

export function networkMtu(value: unknown, argument: string): number {
    return integerInRange(value, MTU_RANGE.min, MTU_RANGE.max, argument);
}

/** Requests and limits of one Kubernetes container. */
export interface ContainerResources {
    /** Requests, e.g. `{ cpu: "250m", memory: "512Mi" }`. */
    requests?: Record<string, string>;
    /** Limits, e.g. `{ memory: "4Gi" }`. */
    limits?: Record<string, string>;
}

/** Resources a container can request: the built-in ones, huge pages, and extended resources (`example.com/gpu`). */
const RESOURCE_NAME = /^(cpu|memory|ephemeral-storage|hugepages-\d+(Ki|Mi|Gi)|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+\/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;

/** A container's requests and limits, each amount a quantity of a known resource, no request above its limit; `defaults` when none are given. */
export function containerResources(value: unknown, argument: string, defaults: ContainerResources): ContainerResources {
    if (value === undefined) {
        return defaults;
    }
    const given = knownKeys(value as ContainerResources, ["requests", "limits"], argument);
    const amounts = (key: "requests" | "limits") => {
        const map = given[key];
        if (map === undefined) {
            return undefined;
        }
        for (const [resource, amount] of Object.entries(stringMap(map, `${argument}.${key}`))) {
            if (!RESOURCE_NAME.test(resource)) {
                throw new InvalidArgumentError(`${argument}.${key}`, resource, "resources named cpu, memory, ephemeral-storage, hugepages-<size> or <domain>/<name>");
            }
            quantity(amount, `${argument}.${key}.${resource}`);
        }
        return map;
    };
    const requests = amounts("requests");
    const limits = amounts("limits");
    for (const [resource, request] of Object.entries(requests ?? {})) {
        const limit = limits?.[resource];
        if (limit !== undefined && quantityValue(request) > quantityValue(limit)) {
            throw new InvalidArgumentError(`${argument}.requests.${resource}`, request, `at most the limit, ${limit} (the API refuses a request above its limit)`);
        }
    }
    return { requests, limits };
}
