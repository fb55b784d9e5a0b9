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

/** Every check, of the daemon and the registry together, runs here, before the first resource is registered. */
const config = loadProgramConfig();

function onKubernetes(program: KubernetesProgram) {
    const { names } = program;
    // Render mode writes every object to a directory (for GitOps) instead of applying it; Secrets are written in plain text.
    const provider = program.renderYamlToDirectory
        ? new k8s.Provider(`${names.daemon}-render`, { renderYamlToDirectory: program.renderYamlToDirectory })
        : undefined;
    const opts: pulumi.ComponentResourceOptions = provider ? { providers: [provider] } : {};
    const registry = program.registry ? new SelfHostedRegistry(names.registry, program.registry, opts) : undefined;
    const dind = new DindDeployment(names.daemon, { ...program.dind, registry }, opts);
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
    const { names } = program;
    const provider = program.dockerHost ? new docker.Provider(`${names.daemon}-docker`, { host: program.dockerHost }) : undefined;
    const opts: pulumi.ComponentResourceOptions = provider ? { providers: [provider] } : {};
    // The daemon joins the registry's network, where it resolves the registry by its alias.
    const registry = program.registry ? new LocalRegistry(names.registry, program.registry, opts) : undefined;
    const dind = new LocalDind(names.daemon, { ...program.dind, registry }, opts);
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
