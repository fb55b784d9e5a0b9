// Package info maps the upstream Terraform docker provider onto the Pulumi names that the
// @pulumi/docker SDK sends. It is shared by the runtime provider and the schema generator.
package info

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/terraform-providers/terraform-provider-docker/internal/provider"
)

// Version is the @pulumi/docker SDK version the tests use; the CLI warns when they differ.
const Version = "5.2.0"

// Provider returns the bridge's mapping of the upstream provider.
func Provider() tfbridge.ProviderInfo {
	// Only the SDKv2 half of the (muxed) upstream is bridged: it holds every resource the
	// SDK's docker:index/* tokens name; the plugin-framework half adds Terraform-only extras.
	p := shimv2.NewProvider(provider.New(Version)())
	prov := tfbridge.ProviderInfo{
		P:       p,
		Name:    "docker",
		Version: Version,
		Config: map[string]*tfbridge.SchemaInfo{
			// Required upstream; a default keeps a provider without `host` valid, as in @pulumi/docker.
			"host": {Default: &tfbridge.DefaultInfo{EnvVars: []string{"DOCKER_HOST"}, Value: "unix:///var/run/docker.sock"}},
			// The SDK names this set `registryAuth`; automatic pluralisation would yield `registryAuths`.
			"registry_auth": {Name: "registryAuth"},
		},
		Resources: map[string]*tfbridge.ResourceInfo{
			"docker_container": {
				// As in @pulumi/docker: a container's name and host ports cannot be held by two containers at once.
				DeleteBeforeReplace: true,
				Fields: map[string]*tfbridge.SchemaInfo{
					// One command given as a list: the SDK keeps the singular name, not `commands`.
					"command": {Name: "command"},
					// Automatic pluralisation would yield `networksAdvanceds`.
					"networks_advanced": {Name: "networksAdvanced"},
				},
			},
			// The SDK calls docker_image RemoteImage (its own `Image` is a native build resource).
			// Its `name` is the image reference: naming the field keeps SetAutonaming off it, so it stays required.
			"docker_image": {
				Tok:    "docker:index/remoteImage:RemoteImage",
				Fields: map[string]*tfbridge.SchemaInfo{"name": {Name: "name"}},
			},
			// The SDK names docker_config ServiceConfig (a bare `Config` would clash with the config module).
			"docker_config": {Tok: "docker:index/serviceConfig:ServiceConfig"},
		},
		DataSources: map[string]*tfbridge.DataSourceInfo{
			"docker_image": {Tok: "docker:index/getRemoteImage:getRemoteImage"},
		},
	}
	// Every other token is the standard docker:index/<camelName>:<PascalName>.
	prov.MustComputeTokens(tokens.SingleModule("docker_", "index", tokens.MakeStandard("docker")))
	// Names left out (container, network, volume) get `<resource name>-<random suffix>` like the SDK's provider.
	prov.SetAutonaming(255, "-")
	return prov
}
