// Package info maps the upstream Terraform random provider (a plugin-framework provider, bridged
// through the bridge's pf packages) onto the Pulumi names that the @pulumi/random SDK sends.
// It is shared by the runtime provider and the schema generator.
package info

import (
	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	"github.com/terraform-providers/terraform-provider-random/internal/provider"
)

// Version is the @pulumi/random SDK version the tests use; the CLI warns when they differ.
const Version = "4.21.2"

// Provider returns the bridge's mapping of the upstream provider.
func Provider() tfbridge.ProviderInfo {
	prov := tfbridge.ProviderInfo{
		P:       pf.ShimProvider(provider.New()),
		Name:    "random",
		Version: Version,
		// The pf bridge insists on metadata; we keep no alias history (nothing was ever renamed here).
		MetadataInfo: tfbridge.NewProviderMetadata(nil),
		// As in @pulumi/random's provider: previews show what the upstream plans, and state keeps
		// the upstream's raw form.
		EnableAccurateBridgePreview: true,
		EnableRawStateDelta:         true,
	}
	// The SDK keeps the "Random" prefix: random_password is random:index/randomPassword:RandomPassword.
	prov.MustComputeTokens(tokens.SingleModule("random_", "index",
		func(module, name string) (string, error) { return tokens.MakeStandard("random")(module, "Random"+name) }))
	return prov
}
