"""A private Docker daemon behind a registry mirror on this Docker host, from Python.

The daemon is reached over mutual TLS on 127.0.0.1; its exported client pair is what
DOCKER_CERT_PATH needs (`pulumi stack output --show-secrets clientKeyPem`).
"""
import pulumi
import pulumi_pulumi_dind as dind

mirror = dind.LocalRegistry("mirror", mode=dind.RegistryMode.MIRROR)

daemon = dind.LocalDind(
    "builds",
    transport=dind.Transport.TLS,
    # The registry as the daemon dials it: its name on its network and port 5000.
    registry=dind.RegistryWiringArgs(
        registry_host="mirror:5000",
        mode=dind.RegistryMode.MIRROR,
        ca_cert_pem=mirror.ca_cert_pem,
        network_name=mirror.network_name,
    ),
    daemon_config={"log-driver": "local", "builder": {"gc": {"enabled": True, "defaultKeepStorage": "20GB"}}},
    # dockerd skips a mirror that does not answer yet, so the registry is up first.
    opts=pulumi.ResourceOptions(depends_on=[mirror]),
)

pulumi.export("dockerHost", daemon.docker_host)
pulumi.export("caCertPem", daemon.ca_cert_pem)
pulumi.export("clientCertPem", daemon.client_cert_pem)
pulumi.export("clientKeyPem", daemon.client_key_pem)
