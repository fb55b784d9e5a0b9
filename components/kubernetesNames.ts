/**
 * The names, labels and keys the Kubernetes components derive from what they are
 * given, checked the way the API server checks them, so a bad one is refused
 * naming the argument before anything is registered instead of failing at apply.
 */
import { InvalidArgumentError, lowerCaseDnsName } from "./validation";

/** The API server's limit for a label value, and for a name used as one (a Job's name in its pods' `job-name` label). */
export const LABEL_VALUE_MAX = 63;
/** What the kubernetes provider appends to an object it names: `-` and 8 random characters. */
export const AUTONAME_SUFFIX_LENGTH = 1 + 8;
const DNS_SUBDOMAIN_MAX = 253;

const LABEL_VALUE = /^([A-Za-z0-9]([-_.A-Za-z0-9]*[A-Za-z0-9])?)?$/;
const LABEL_NAME = /^[A-Za-z0-9]([-_.A-Za-z0-9]*[A-Za-z0-9])?$/;
const RFC_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const CONFIG_MAP_KEY = /^[-._a-zA-Z0-9]+$/;

/** A label value: at most 63 characters of [-_.a-zA-Z0-9], alphanumeric at both ends, or empty. */
export function labelValue(value: unknown, argument: string): string {
    if (typeof value !== "string" || value.length > LABEL_VALUE_MAX || !LABEL_VALUE.test(value)) {
        throw new InvalidArgumentError(argument, value, "a label value (at most 63 of a-z, A-Z, 0-9, '-', '_' and '.', alphanumeric at both ends)");
    }
    return value;
}

/** A label key: an optional DNS-name prefix and `/`, then a name of at most 63 characters of [-_.a-zA-Z0-9], alphanumeric at both ends. */
export function labelKey(value: unknown, argument: string): string {
    const expected = "a label key such as pool or node-role.example.com/ci (a lower-case DNS prefix and '/', then at most 63 of a-z, A-Z, 0-9, '-', '_' and '.')";
    if (typeof value !== "string") {
        throw new InvalidArgumentError(argument, value, expected);
    }
    const slash = value.lastIndexOf("/");
    const prefix = slash === -1 ? undefined : value.slice(0, slash);
    const name = value.slice(slash + 1);
    const prefixIsValid = prefix === undefined || (prefix === prefix.toLowerCase() && isDnsName(prefix));
    if (!prefixIsValid || name.length > LABEL_VALUE_MAX || !LABEL_NAME.test(name)) {
        throw new InvalidArgumentError(argument, value, expected);
    }
    return value;
}

/** Labels to match, such as a nodeSelector: every key a label key, every value a label value. */
export function labelMap(value: unknown, argument: string): Record<string, string> {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw new InvalidArgumentError(argument, value, "a map of label keys to label values");
    }
    for (const [key, element] of Object.entries(value)) {
        labelKey(key, argument);
        labelValue(element, `${argument}.${key}`);
    }
    return value as Record<string, string>;
}

/** A Service's name (an RFC 1035 label): lower-case, starting with a letter, at most 63 characters. */
export function serviceName(value: unknown, argument: string): string {
    if (typeof value !== "string" || value.length > LABEL_VALUE_MAX || !RFC_1035_LABEL.test(value)) {
        throw new InvalidArgumentError(
            argument,
            value,
            "a Service name (RFC 1035: a-z, 0-9 and '-', at most 63 characters, starting with a letter and ending alphanumeric)",
        );
    }
    return value;
}

/** A ConfigMap key: 1 to 253 characters of [-._a-zA-Z0-9], and not `.` or `..`. */
export function configMapKey(value: unknown, argument: string): string {
    if (typeof value !== "string" || value.length > DNS_SUBDOMAIN_MAX || !CONFIG_MAP_KEY.test(value) || value === "." || value === "..") {
        throw new InvalidArgumentError(argument, value, "a ConfigMap key (1 to 253 of a-z, A-Z, 0-9, '-', '_' and '.')");
    }
    return value;
}

/**
 * A component's name as the prefix of the objects the provider names after it,
 * `<name>-<suffix>-<8 random characters>`: each must be a lower-case DNS name of at
 * most 253 characters.
 */
export function autonamePrefix(name: string, suffixes: readonly string[], argument: string): string {
    lowerCaseDnsName(name, argument);
    const longest = Math.max(...suffixes.map((suffix) => suffix.length + 1));
    const max = DNS_SUBDOMAIN_MAX - longest - AUTONAME_SUFFIX_LENGTH;
    if (name.length > max) {
        throw new InvalidArgumentError(argument, name, `at most ${max} characters (the provider names objects <name>-<suffix>-<8 characters>, at most 253)`);
    }
    return name;
}

/**
 * The longest component name whose auto-named `<name>-<suffix>` Job fits its pods'
 * `job-name` label (63 characters) once the provider has added its 9.
 */
export function maxNameForJob(suffix: string): number {
    return LABEL_VALUE_MAX - AUTONAME_SUFFIX_LENGTH - (suffix.length + 1);
}

function isDnsName(value: string): boolean {
    try {
        lowerCaseDnsName(value, "");
        return true;
    } catch {
        return false;
    }
}
