// sdk-codegen: Pulumi's own schema binder and SDK generators (module
// github.com/pulumi/pulumi/pkg/v3), run on a component package's schema as
// `pulumi package gen-sdk` runs them through a language host.
//
//	sdk-codegen SCHEMA.json OUT_DIR LANGUAGE...
//
// The language hosts that carry the generators for the CLI are not served by the
// module proxy these machines reach; the generators themselves are part of pkg/v3
// for python, go and nodejs. Every diagnostic the binder reports, warning or
// error, fails the run, so a schema that would make gen-sdk warn is caught here.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/pkg/v3/cmd/pulumi/packages"
	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	"github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	"github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/pulumi/pulumi/sdk/v3/go/common/registry"
)

const tool = "pulumi-dind-sdk-codegen"

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: sdk-codegen SCHEMA.json OUT_DIR LANGUAGE...")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2], os.Args[3:]); err != nil {
		fmt.Fprintf(os.Stderr, "sdk-codegen: %v\n", err)
		os.Exit(1)
	}
}

func run(schemaPath, outDir string, languages []string) error {
	raw, err := os.ReadFile(schemaPath)
	if err != nil {
		return err
	}
	var spec schema.PackageSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		return fmt.Errorf("%s is not a package schema: %w", schemaPath, err)
	}
	// The schema refers to no other package, so the loader never starts a plugin; it is
	// stricter than the CLI's binding, which allows dangling references.
	offline := registry.NewOnDemandRegistry(func() (registry.Registry, error) {
		return nil, errors.New("no package registry is consulted: the schema refers to no other package")
	})
	pctx, err := packages.NewPluginContext(filepath.Dir(schemaPath), offline)
	if err != nil {
		return err
	}
	defer pctx.Close()
	loader := schema.NewPluginLoader(pctx)
	pkg, diags, err := schema.BindSpec(spec, loader, schema.ValidationOptions{})
	if err != nil {
		return fmt.Errorf("binding the schema: %w", err)
	}
	if len(diags) > 0 {
		return fmt.Errorf("the schema has %d diagnostics:\n%v", len(diags), diags)
	}
	for _, language := range languages {
		files, err := generate(language, pkg, loader)
		if err != nil {
			return fmt.Errorf("generating the %s SDK: %w", language, err)
		}
		for name, content := range files {
			path := filepath.Join(outDir, language, name)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(path, content, 0o644); err != nil {
				return err
			}
		}
		fmt.Printf("%s: %d files\n", language, len(files))
	}
	return nil
}

func generate(language string, pkg *schema.Package, loader schema.ReferenceLoader) (map[string][]byte, error) {
	switch language {
	case "python":
		return python.GeneratePackage(tool, pkg, nil, loader)
	case "go":
		return gogen.GeneratePackage(tool, pkg, nil)
	case "nodejs":
		return nodejs.GeneratePackage(tool, pkg, nil, nil, true, loader)
	default:
		return nil, fmt.Errorf("no generator for %q here (pkg/v3 has python, go and nodejs)", language)
	}
}
