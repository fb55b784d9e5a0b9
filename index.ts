/**
 * The pulumi-dind program: a private Docker daemon per stack, on Kubernetes or
 * on one Docker host, optionally with a self-hosted registry wired to it.
 * Everything it builds comes from `dind:*` stack configuration (see README).
 */
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import * as k8s from "@pulumi/kubernetes";
import { DockerProgram, KubernetesProgram, loadProgramConfig } from "./config";
import { DindDeployment, LocalDind, LocalRegistry, SelfHostedRegistry } from "./components";

/** Every check runs here, before the first resource is registered. */
const config = loadProgramConfig();
/**
 * `<project>-<stack>`, also the namespace a DindDeployment creates, so one stack's daemon is easy to find
 * with kubectl; short enough that `<name>-registry` is still a valid Kubernetes name.
 */
const name = `${pulumi.getProject()}-${pulumi.getStack()}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .slice(0, 54)
    .replace(/^-+|-+$/g, "");

function onKubernetes(program: KubernetesProgram) {
    // Render mode writes every object to a directory (for GitOps) instead of applying it; Secrets are written in plain text.
    const provider = program.renderYamlToDirectory
        ? new k8s.Provider(`${name}-render`, { renderYamlToDirectory: program.renderYamlToDirectory })
        : undefined;
    const opts: pulumi.ComponentResourceOptions = provider ? { providers: [provider] } : {};
    const registry = program.registry ? new SelfHostedRegistry(`${name}-registry`, program.registry, opts) : undefined;
    const dind = new DindDeployment(name, { ...program.dind, registry }, opts);
    return {
        target: program.target,
        namespace: dind.namespace,
        workloadName: dind.workloadName,
        dockerHost: dind.dockerHost,
        caConfigMapName: dind.caConfigMapName,
        clientTlsSecretName: dind.clientTlsSecretName,
        outputClaimName: dind.outputClaimName,
        registryHost: registry?.host,
        registryMirrorUrl: registry?.mirrorUrl,
        registryCaCertPem: registry?.caCertPem,
        registryUserPasswords: registry?.userPasswords,
    };
}

function onDocker(program: DockerProgram) {
    const provider = program.dockerHost ? new docker.Provider(`${name}-docker`, { host: program.dockerHost }) : undefined;
    const opts: pulumi.ComponentResourceOptions = provider ? { providers: [provider] } : {};
    // The daemon joins the registry's network, where it resolves the registry by its alias; the
    // network carries the daemon's pulls, so it takes the daemon's MTU.
    const registry = program.registry ? new LocalRegistry(`${name}-registry`, { ...program.registry, mtu: program.dind.mtu }, opts) : undefined;
    const dind = new LocalDind(name, { ...program.dind, registry }, opts);
    return {
        target: program.target,
        dockerHost: dind.dockerHost,
        caCertPem: dind.caCertPem,
        clientCertPem: dind.clientCertPem,
        clientKeyPem: dind.clientKeyPem,
        containerName: dind.containerName,
        volumeName: dind.volumeName,
        networkName: dind.networkName,
        clientContainerName: dind.clientContainerName,
        registryHost: registry?.host,
        registryPublishedHost: registry?.publishedHost,
        registryCaCertPem: registry?.caCertPem,
        registryUserPasswords: registry?.userPasswords,
    };
}

// The stack's outputs: what `pulumi stack output` shows for the chosen target.
export = config.target === "kubernetes" ? onKubernetes(config) : onDocker(config);
