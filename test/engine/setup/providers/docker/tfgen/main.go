// The schema generator: `tfgen schema --out DIR --skip-docs --skip-examples` writes DIR/schema.json
// from the same mapping the runtime provider uses.
package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"

	"github.com/terraform-providers/terraform-provider-docker/pulumi-dind/info"
)

func main() {
	tfgen.Main("docker", info.Version, info.Provider())
}
