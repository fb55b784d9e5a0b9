/**
 * pulumi-dind: Docker-in-Docker components for Kubernetes and for one Docker
 * host, the registries they pull through, and the pieces both share.
 */
export {
    ContainerRuntime,
    DindDeployment,
    DindDeploymentArgs,
    DockerStorageArgs,
    ExposeArgs,
    ExposeClientArgs,
    Isolation,
    OutputVolumeArgs,
    SysboxArgs,
    TlsSecretsArgs,
    Workload,
} from "./dindDeployment";
export { LocalDind, LocalDindArgs } from "./localDind";
export { RegistryServiceType, SelfHostedRegistry, SelfHostedRegistryArgs } from "./selfHostedRegistry";
export { PruneArgs } from "./prune";
export { LocalRegistry, LocalRegistryArgs } from "./localRegistry";
export { RegistryArgs, RegistryMode, RegistryUserArgs, RegistryStorageArgs } from "./registrySettings";
export { LocalDindClientArgs } from "./localDind";
export { DaemonArgs, RegistryTrust, RegistryWiring, Transport, dockerdArgs, registryCaPath } from "./daemon";
export { DaemonConfig, DaemonConfigArgs, DaemonConfigValue } from "./daemonConfig";
export { ContainerResources, InvalidArgumentError } from "./validation";
