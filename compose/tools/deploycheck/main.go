// deploycheck validates querygoal-runtime's deployment files without a container engine or a
// cluster. scripts/validate-deploy builds it and runs each subcommand:
//
//	deploycheck compose FILE          load FILE as `docker compose config` does (compose-go:
//	                                  schema, interpolation, consistency), then project rules
//	deploycheck dockerfile FILE       parse with BuildKit's parser, then image rules;
//	                                  -runtime-packages prints the final stage's apt packages,
//	                                  -build-steps the build stages' scripts/ commands
//	deploycheck k8s FILE|-            project rules over rendered manifests (kustomize build)
//	deploycheck crd2schema OUT CRD... JSON schemas for kubeconform from CustomResourceDefinitions
//	deploycheck k8sschemas SRC OUT    make kubernetes-validate's schemas loadable by kubeconform
//
// Every check prints one line per finding and exits 1 if there was any.
package main

import (
	"fmt"
	"os"
	"strings"
)

// Stage workers: binary name -> pipeline stage name (topics and consumer groups use the latter).
var workerStages = map[string]string{
	"qg-selection":     "swrlSelection",
	"qg-binding":       "yamlBinding",
	"qg-simulation":    "simulation",
	"qg-aasquery":      "aasQuery",
	"qg-datafiltering": "dataFiltering",
}

// findings collects rule violations; each is reported with the object it concerns.
type findings struct {
	list []string
}

func (f *findings) add(where, format string, args ...any) {
	f.list = append(f.list, where+": "+fmt.Sprintf(format, args...))
}

func (f *findings) exit(what string) {
	for _, l := range f.list {
		fmt.Fprintln(os.Stderr, "deploycheck:", l)
	}
	if len(f.list) > 0 {
		fmt.Fprintf(os.Stderr, "deploycheck: %s: %d problem(s)\n", what, len(f.list))
		os.Exit(1)
	}
	fmt.Printf("deploycheck: %s: ok\n", what)
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: deploycheck compose FILE | dockerfile [-runtime-packages|-build-steps] FILE |"+
		" k8s FILE | crd2schema OUTDIR CRD.yaml... | k8sschemas SRCDIR OUTDIR")
	os.Exit(2)
}

func die(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "deploycheck: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 3 {
		usage()
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "compose":
		checkCompose(args)
	case "dockerfile":
		if args[0] == "-runtime-packages" && len(args) == 2 {
			fmt.Println(strings.Join(runtimePackages(args[1]), "\n"))
			return
		}
		if args[0] == "-build-steps" && len(args) == 2 {
			fmt.Println(strings.Join(buildSteps(args[1]), "\n"))
			return
		}
		checkDockerfile(args[0])
	case "k8s":
		checkK8s(args[0])
	case "crd2schema":
		if len(args) < 2 {
			usage()
		}
		crdToSchemas(args[0], args[1:])
	case "k8sschemas":
		if len(args) != 2 {
			usage()
		}
		rewriteK8sSchemas(args[0], args[1])
	default:
		usage()
	}
}
