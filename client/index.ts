/**
 * Client library for a private Docker daemon (one declared by this package's components, or any
 * other): connect from the environment or a component's outputs, wait for the daemon, pull,
 * run, save and load images. Built on dockerode; every function takes the dockerode client.
 */
export type {
    ConnectionOptions,
    ConnectOptions,
    DaemonEndpoint,
    DaemonTls,
    ExplicitEndpointSettings,
    ReadTextFile,
} from "./connection";
export {
    DEFAULT_DOCKER_HOST,
    MAX_API_VERSION,
    MIN_API_VERSION,
    chooseApiVersion,
    connect,
    connectionOptions,
    createDocker,
    describeConnection,
    describeDocker,
    endpointFromEnv,
    resolveEndpoint,
    tlsFromDirectory,
} from "./connection";
export type { ErrorContext } from "./errors";
export {
    AbortError,
    DaemonError,
    DaemonUnreachableError,
    DindClientError,
    ImageNotFoundError,
    InvalidEndpointError,
    NonZeroExitError,
    PullDeniedError,
    TlsMismatchError,
    classifyError,
} from "./errors";
export type { ProgressEvent, PullOptions, TransferOptions } from "./images";
export { imageExists, loadImages, pull, saveImages } from "./images";
export type { PullSummary } from "./progress";
export { PullProgress, formatBytes, formatPullSummary } from "./progress";
export type { RunOptions, RunResult } from "./run";
export { run, runOrThrow } from "./run";
export type { WaitForDaemonOptions, WaitForDaemonResult } from "./wait";
export { waitForDaemon } from "./wait";
