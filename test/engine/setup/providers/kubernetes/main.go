// pulumi-resource-kubernetes: the runtime provider plugin the Pulumi engine starts, built from
// the provider's Go module at the release that package-lock.json pins.
//
// The release's own main embeds files that its build generates and that are not part of the
// module download (schema-embed.json, terraform-mapping-embed.json). ../build-providers.sh
// writes them here from the module's schema.json and terraform-mapping.json, stamped with the
// release's version, so the same provider.Serve runs with the same schema.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var schema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, schema, terraformMapping)
}
