/**
 * pulumi-dind: Docker-in-Docker components for Kubernetes and for one Docker
 * host, the registries they pull through, and the pieces both share.
 */
export {
    ContainerRuntime,
    DindDeployment,
    DindDeploymentArgs,
    DockerStorage,
    Expose,
    ExposeClient,
    Isolation,
    OutputVolume,
    Sysbox,
    TlsSecrets,
    Workload,
} from "./dindDeployment";
export { LocalDind, LocalDindArgs } from "./localDind";
export { RegistryServiceType, SelfHostedRegistry, SelfHostedRegistryArgs } from "./selfHostedRegistry";
export { Prune } from "./prune";
export { LocalRegistry, LocalRegistryArgs } from "./localRegistry";
export { RegistryArgs, RegistryMode, RegistryStorage, RegistryUser } from "./registrySettings";
export { LocalDindClient } from "./localDind";
// The names these had before they were named for the schema, whose other languages' SDKs add `Args` to each.
export { DockerStorage as DockerStorageArgs, OutputVolume as OutputVolumeArgs } from "./dindDeployment";
export { LocalDindClient as LocalDindClientArgs } from "./localDind";
export { RegistryStorage as RegistryStorageArgs, RegistryUser as RegistryUserArgs } from "./registrySettings";
export { DaemonArgs, RegistryTrust, RegistryWiring, Transport, dockerdArgs, registryCaPath } from "./daemon";
export { DaemonConfig, DaemonConfigArgs, DaemonConfigValue } from "./daemonConfig";
export { ContainerResources, InvalidArgumentError } from "./validation";
