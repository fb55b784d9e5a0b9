// The schema generator: `tfgen schema --out DIR --skip-docs --skip-examples` writes DIR/schema.json
// from the same mapping the runtime provider uses.
package main

import (
	pftfgen "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"

	"github.com/terraform-providers/terraform-provider-random/pulumi-dind/info"
)

func main() {
	pftfgen.Main("random", info.Provider())
}
