package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Packages that belong in the build stage only.
var buildOnlyPackage = regexp.MustCompile(`(-dev$|^build-essential$|^cmake$|^gcc|^g\+\+|^clang|^make$|^pkg-config$|^git$)`)

func parseDockerfile(file string, f *findings) []instructions.Stage {
	r, err := os.Open(file)
	if err != nil {
		die("%v", err)
	}
	defer r.Close()
	res, err := parser.Parse(r)
	if err != nil {
		f.add(file, "%v", err)
		return nil
	}
	for _, w := range res.Warnings {
		f.add(file, "line %d: %s", w.Location.Start.Line, w.Short)
	}
	lint := linter.New(&linter.Config{Warn: func(rule, _, _, msg string, loc []parser.Range) {
		line := 0
		if len(loc) > 0 {
			line = loc[0].Start.Line
		}
		f.add(file, "line %d: %s: %s", line, rule, msg)
	}})
	stages, _, err := instructions.Parse(res.AST, lint)
	if err != nil {
		f.add(file, "%v", err)
		return nil
	}
	return stages
}

func runLines(st instructions.Stage) []string {
	var out []string
	for _, c := range st.Commands {
		if run, ok := c.(*instructions.RunCommand); ok {
			out = append(out, strings.Join(run.CmdLine, " "))
		}
	}
	return out
}

// aptPackages lists the packages `apt-get install` names in the given shell lines.
func aptPackages(lines []string) []string {
	var pkgs []string
	for _, line := range lines {
		words := strings.Fields(line)
		for i := 0; i+1 < len(words); i++ {
			if !strings.HasSuffix(words[i], "apt-get") || words[i+1] != "install" {
				continue
			}
			for _, w := range words[i+2:] {
				if w == "&&" || w == ";" || w == "||" {
					break
				}
				if !strings.HasPrefix(w, "-") && w != "\\" {
					pkgs = append(pkgs, w)
				}
			}
		}
	}
	return pkgs
}

func runtimePackages(file string) []string {
	var f findings
	stages := parseDockerfile(file, &f)
	if len(stages) == 0 {
		f.exit("dockerfile " + file)
	}
	return aptPackages(runLines(stages[len(stages)-1]))
}

// buildSteps lists the commands of the build stages that run the repository's scripts
// (each `&&`/`;` part of a RUN line that names scripts/), in order, so a test can run the
// image's build steps on the host.
func buildSteps(file string) []string {
	var f findings
	stages := parseDockerfile(file, &f)
	if len(stages) < 2 {
		f.add(file, "no build stage")
		f.exit("dockerfile " + file)
	}
	var steps []string
	for _, st := range stages[:len(stages)-1] {
		for _, line := range runLines(st) {
			for _, part := range strings.FieldsFunc(line, func(r rune) bool { return r == '&' || r == ';' }) {
				if part = strings.TrimSpace(part); strings.Contains(part, "scripts/") {
					steps = append(steps, part)
				}
			}
		}
	}
	return steps
}

func checkDockerfile(file string) {
	var f findings
	stages := parseDockerfile(file, &f)
	if len(stages) < 2 {
		f.add(file, "needs a build stage and a runtime stage, has %d stage(s)", len(stages))
		f.exit("dockerfile " + file)
	}
	checkBuildStages(&f, file, stages[:len(stages)-1])
	checkRuntimeStage(&f, file, stages[len(stages)-1])
	f.exit("dockerfile " + file)
}

// The build must run the developer's commands, not a copy of them.
func checkBuildStages(f *findings, file string, stages []instructions.Stage) {
	var runs []string
	for _, st := range stages {
		runs = append(runs, runLines(st)...)
	}
	all := strings.Join(runs, "\n")
	for _, want := range []string{"QG_BOOTSTRAP_BUILD_ONLY=1 scripts/bootstrap", "QG_NO_TESTS=1 scripts/build"} {
		if !strings.Contains(all, want) {
			f.add(file, "build stage does not run %q", want)
		}
	}
	if pkgs := aptPackages(runs); len(pkgs) > 0 {
		f.add(file, "build stage installs packages itself (%s); scripts/bootstrap owns that list",
			strings.Join(pkgs, " "))
	}
}

func checkRuntimeStage(f *findings, file string, st instructions.Stage) {
	where := fmt.Sprintf("%s: final stage %q", file, st.Name)
	for _, p := range aptPackages(runLines(st)) {
		if buildOnlyPackage.MatchString(p) {
			f.add(where, "installs build-only package %s", p)
		}
	}
	labels := map[string]bool{}
	user, health, copiesBinaries := "", "", false
	for _, c := range st.Commands {
		switch c := c.(type) {
		case *instructions.LabelCommand:
			for _, kv := range c.Labels {
				labels[kv.Key] = true
			}
		case *instructions.UserCommand:
			user = c.User
		case *instructions.HealthCheckCommand:
			health = strings.Join(c.Health.Test, " ")
		case *instructions.CopyCommand:
			copiesBinaries = copiesBinaries || (c.From != "" && strings.Contains(strings.Join(c.SourcePaths, " "), "/bin"))
		}
	}
	for _, l := range []string{"org.opencontainers.image.title", "org.opencontainers.image.version",
		"org.opencontainers.image.revision", "org.opencontainers.image.created"} {
		if !labels[l] {
			f.add(where, "missing label %s", l)
		}
	}
	u := strings.SplitN(user, ":", 2)[0]
	if u == "" || u == "root" || u == "0" {
		f.add(where, "runs as root (USER %q)", user)
	}
	if !strings.Contains(health, "qgctl ping") {
		f.add(where, "HEALTHCHECK %q does not run qgctl ping", health)
	}
	if !copiesBinaries {
		f.add(where, "does not copy the built binaries from the build stage")
	}
}
