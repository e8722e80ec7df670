package main

import (
	"context"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// Environment names that hold credentials: their value must come from outside the file.
var secretName = regexp.MustCompile(`(?i)(PASSWORD|SECRET|TOKEN|CREDENTIALS?|PRIVATE_KEY|SASL_OAUTHBEARER_CONFIG)$`)

// loadCompose loads files (a base and its overrides, merged as `docker compose -f a -f b`) as
// `docker compose config` does (the caller's environment and the project's .env), or, with
// asWritten, with no environment at all and env files left out.
func loadCompose(files []string, asWritten bool) (*types.Project, error) {
	opts := []cli.ProjectOptionsFn{cli.WithWorkingDirectory(filepath.Dir(files[0]))}
	if asWritten {
		opts = append(opts, cli.WithEnv([]string{}), cli.WithoutEnvironmentResolution)
	} else {
		opts = append(opts, cli.WithOsEnv, cli.WithDotEnv)
	}
	po, err := cli.NewProjectOptions(files, opts...)
	if err != nil {
		return nil, err
	}
	return cli.ProjectFromOptions(context.Background(), po)
}

// checkCompose loads the file twice: as `docker compose config` would (with the caller's
// environment), and with an empty environment and no env files, which shows what the file
// itself sets (defaults), where no credential may appear.
func checkCompose(files []string) {
	var f findings
	file := strings.Join(files, " + ")
	if _, err := loadCompose(files, false); err != nil {
		f.add(file, "%v", err)
		f.exit("compose " + file)
	}
	p, err := loadCompose(files, true)
	if err != nil {
		f.add(file, "without environment: %v", err)
		f.exit("compose " + file)
	}
	names := make([]string, 0, len(p.Services))
	for n := range p.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	shared := map[string]map[string]string{}
	for _, n := range names {
		s := p.Services[n]
		checkServiceSecrets(&f, n, s)
		if stage, ok := workerStage(s); ok {
			checkWorkerService(&f, n, stage, s)
		}
		for _, k := range []string{"QG_TOPIC_PREFIX", "QG_BOOTSTRAP_SERVERS"} {
			if v := s.Environment[k]; v != nil {
				if shared[k] == nil {
					shared[k] = map[string]string{}
				}
				shared[k][*v] = n
			}
		}
	}
	for k, vals := range shared {
		if len(vals) > 1 {
			f.add(file, "services disagree on %s: %v", k, vals)
		}
	}
	f.exit("compose " + file)
}

func workerStage(s types.ServiceConfig) (string, bool) {
	if len(s.Command) == 0 {
		return "", false
	}
	stage, ok := workerStages[filepath.Base(s.Command[0])]
	return stage, ok
}

func checkServiceSecrets(f *findings, name string, s types.ServiceConfig) {
	for k, v := range s.Environment {
		if v != nil && *v != "" && secretName.MatchString(k) {
			f.add("service "+name, "%s has a value in the file; pass it from the environment or an env file", k)
		}
	}
}

// A worker service must be scalable (`--scale`), report liveness and stop gracefully.
func checkWorkerService(f *findings, name, stage string, s types.ServiceConfig) {
	where := "service " + name
	if s.ContainerName != "" {
		f.add(where, "container_name prevents --scale")
	}
	for _, port := range s.Ports {
		if port.Published != "" {
			f.add(where, "publishes host port %s, which prevents --scale", port.Published)
		}
	}
	if s.Init == nil || !*s.Init {
		f.add(where, "needs init: true (reaps children of the simulation runner)")
	}
	health := ""
	if s.Environment["QG_HEALTH_FILE"] != nil {
		health = *s.Environment["QG_HEALTH_FILE"]
	}
	checkHealthcheck(f, where, s.HealthCheck, health)
	grace := time.Duration(0)
	if s.StopGracePeriod != nil {
		grace = time.Duration(*s.StopGracePeriod)
	}
	if grace < 30*time.Second {
		f.add(where, "stop_grace_period %v is shorter than 30s", grace)
	}
	if stage == "simulation" {
		limit := envSeconds(s.Environment, "QG_SIMULATION_TIME_LIMIT_S")
		if limit == 0 {
			f.add(where, "QG_SIMULATION_TIME_LIMIT_S is not set")
		} else if grace <= time.Duration(limit)*time.Second {
			f.add(where, "stop_grace_period %v must exceed the simulation time limit %ds", grace, limit)
		}
	}
	for _, k := range []string{"QG_BOOTSTRAP_SERVERS", "QG_TOPIC_PREFIX", "QG_PROCESSING_GUARANTEE"} {
		if s.Environment[k] == nil || *s.Environment[k] == "" {
			f.add(where, "%s is not set", k)
		}
	}
	if v := s.Environment["QG_WORKER_ID"]; v != nil && *v != "" {
		f.add(where, "a fixed QG_WORKER_ID is shared by every scaled replica; leave it unset")
	}
}

func checkHealthcheck(f *findings, where string, h *types.HealthCheckConfig, healthFile string) {
	if h == nil || h.Disable || len(h.Test) < 2 {
		f.add(where, "needs a healthcheck running qgctl ping")
		return
	}
	cmd := strings.Join(h.Test[1:], " ")
	if !strings.Contains(cmd, "qgctl ping") || !strings.Contains(cmd, "--health-file") {
		f.add(where, "healthcheck %q does not run qgctl ping --health-file", cmd)
	}
	if healthFile == "" || !strings.Contains(cmd, healthFile) {
		f.add(where, "healthcheck does not read QG_HEALTH_FILE %q", healthFile)
	}
}

func envSeconds(env types.MappingWithEquals, key string) int {
	v := env[key]
	if v == nil {
		return 0
	}
	n, err := strconv.Atoi(*v)
	if err != nil {
		return 0
	}
	return n
}
