package main

import (
	"path"
	"strconv"
	"strings"
)

// manifests indexes rendered objects by kind and name.
type manifests struct {
	byKind map[string]map[string]map[string]any
}

func indexManifests(docs []map[string]any) manifests {
	m := manifests{byKind: map[string]map[string]map[string]any{}}
	for _, d := range docs {
		kind, name := str(d, "kind"), str(d, "metadata", "name")
		if m.byKind[kind] == nil {
			m.byKind[kind] = map[string]map[string]any{}
		}
		m.byKind[kind][name] = d
	}
	return m
}

func (m manifests) get(kind, name string) map[string]any { return m.byKind[kind][name] }

// checkK8s applies the project's rules to rendered manifests (`kustomize build` output):
// what a schema cannot see, such as a ScaledObject watching another topic than its
// Deployment consumes, or scaling past the partition count.
func checkK8s(file string) {
	var f findings
	m := indexManifests(readYAMLDocs(file))
	partitions := topicPartitions(&f, m)
	workers := 0
	for name, d := range m.byKind["Deployment"] {
		pod, _ := get(d, "spec", "template", "spec").(map[string]any)
		checkRefs(&f, m, "Deployment "+name, pod)
		for _, c := range list(pod, "containers") {
			cm, _ := c.(map[string]any)
			cmd := list(cm, "command")
			if len(cmd) == 0 {
				continue
			}
			bin, _ := cmd[0].(string)
			if stage, ok := workerStages[path.Base(bin)]; ok {
				workers++
				checkWorker(&f, m, d, pod, cm, stage, partitions)
			}
		}
	}
	if workers != len(workerStages) {
		f.add(file, "%d stage worker Deployments, want one per stage (%d)", workers, len(workerStages))
	}
	for name, s := range m.byKind["Secret"] {
		if get(s, "data") != nil || get(s, "stringData") != nil {
			f.add("Secret "+name, "carries values; create secrets out of band and reference them")
		}
	}
	for name, j := range m.byKind["Job"] {
		pod, _ := get(j, "spec", "template", "spec").(map[string]any)
		checkRefs(&f, m, "Job "+name, pod)
	}
	f.exit("k8s " + file)
}

// topicPartitions reads QG_TOPIC_PARTITIONS from the environment of the topic-init Job.
func topicPartitions(f *findings, m manifests) int {
	for name, j := range m.byKind["Job"] {
		for _, c := range list(j, "spec", "template", "spec", "containers") {
			cm, _ := c.(map[string]any)
			if !strings.Contains(strings.Join(strList(cm, "command"), " "), "topic-init.sh") {
				continue
			}
			env := containerEnv(m, cm)
			n, err := strconv.Atoi(env["QG_TOPIC_PARTITIONS"])
			if err != nil || n <= 0 {
				f.add("Job "+name, "QG_TOPIC_PARTITIONS %q is not a positive number", env["QG_TOPIC_PARTITIONS"])
				return 0
			}
			return n
		}
	}
	f.add("manifests", "no Job runs topic-init.sh")
	return 0
}

// containerEnv merges envFrom ConfigMaps and literal env values (later wins, as in Kubernetes).
func containerEnv(m manifests, c map[string]any) map[string]string {
	env := map[string]string{}
	for _, ef := range list(c, "envFrom") {
		if cm := m.get("ConfigMap", str(ef, "configMapRef", "name")); cm != nil {
			data, _ := get(cm, "data").(map[string]any)
			for k, v := range data {
				env[k], _ = v.(string)
			}
		}
	}
	for _, e := range list(c, "env") {
		if v, ok := get(e, "value").(string); ok {
			env[str(e, "name")] = v
		} else if key := str(e, "valueFrom", "configMapKeyRef", "key"); key != "" {
			env[str(e, "name")] = str(m.get("ConfigMap", str(e, "valueFrom", "configMapKeyRef", "name")), "data", key)
		}
	}
	return env
}

func checkWorker(f *findings, m manifests, d, pod, c map[string]any, stage string, partitions int) {
	name := str(d, "metadata", "name")
	where := "Deployment " + name
	env := containerEnv(m, c)
	if get(d, "spec", "replicas") != nil {
		f.add(where, "sets spec.replicas, which fights the ScaledObject")
	}
	for _, k := range []string{"QG_BOOTSTRAP_SERVERS", "QG_TOPIC_PREFIX", "QG_PROCESSING_GUARANTEE", "QG_HEALTH_FILE"} {
		if env[k] == "" {
			f.add(where, "%s is not set", k)
		}
	}
	if !workerIDFromPodName(c) {
		f.add(where, "QG_WORKER_ID must come from the pod name (fieldRef metadata.name)")
	}
	for _, r := range []string{"requests.cpu", "requests.memory", "limits.memory"} {
		parts := strings.Split(r, ".")
		if get(c, "resources", parts[0], parts[1]) == nil {
			f.add(where, "no resources.%s", r)
		}
	}
	for _, p := range []string{"livenessProbe", "readinessProbe"} {
		cmd := strings.Join(strList(get(c, p), "exec", "command"), " ")
		if !strings.HasPrefix(cmd, "qgctl ping --health-file "+env["QG_HEALTH_FILE"]+" ") {
			f.add(where, "%s %q does not run qgctl ping on QG_HEALTH_FILE", p, cmd)
		}
	}
	if b, _ := get(c, "securityContext", "readOnlyRootFilesystem").(bool); b &&
		!writableDir(pod, c, path.Dir(env["QG_HEALTH_FILE"])) {
		f.add(where, "read-only root file system and no emptyDir at %s for the health file",
			path.Dir(env["QG_HEALTH_FILE"]))
	}
	if b, _ := get(pod, "securityContext", "runAsNonRoot").(bool); !b {
		f.add(where, "pod does not set runAsNonRoot")
	}
	grace, _ := num(pod, "terminationGracePeriodSeconds")
	if grace < 30 {
		f.add(where, "terminationGracePeriodSeconds %d < 30", grace)
	}
	if stage == "simulation" {
		limit, err := strconv.Atoi(env["QG_SIMULATION_TIME_LIMIT_S"])
		if err != nil || grace <= limit {
			f.add(where, "terminationGracePeriodSeconds %d must exceed QG_SIMULATION_TIME_LIMIT_S %q", grace,
				env["QG_SIMULATION_TIME_LIMIT_S"])
		}
	}
	checkPDB(f, m, where, d)
	checkScaledObject(f, m, name, stage, env, partitions)
}

func workerIDFromPodName(c map[string]any) bool {
	for _, e := range list(c, "env") {
		if str(e, "name") == "QG_WORKER_ID" {
			return str(e, "valueFrom", "fieldRef", "fieldPath") == "metadata.name"
		}
	}
	return false
}

func writableDir(pod, c map[string]any, dir string) bool {
	for _, vm := range list(c, "volumeMounts") {
		if str(vm, "mountPath") != dir {
			continue
		}
		for _, v := range list(pod, "volumes") {
			if str(v, "name") == str(vm, "name") && get(v, "emptyDir") != nil {
				return true
			}
		}
	}
	return false
}

func checkPDB(f *findings, m manifests, where string, d map[string]any) {
	labels, _ := get(d, "spec", "template", "metadata", "labels").(map[string]any)
	for _, pdb := range m.byKind["PodDisruptionBudget"] {
		sel, _ := get(pdb, "spec", "selector", "matchLabels").(map[string]any)
		if len(sel) > 0 && subset(sel, labels) {
			return
		}
	}
	f.add(where, "no PodDisruptionBudget selects its pods")
}

func subset(a, b map[string]any) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func checkScaledObject(f *findings, m manifests, deploy, stage string, env map[string]string, partitions int) {
	var so map[string]any
	for _, s := range m.byKind["ScaledObject"] {
		if str(s, "spec", "scaleTargetRef", "name") == deploy {
			so = s
		}
	}
	where := "ScaledObject for " + deploy
	if so == nil {
		f.add(where, "missing")
		return
	}
	lo, _ := num(so, "spec", "minReplicaCount")
	hi, ok := num(so, "spec", "maxReplicaCount")
	if lo < 1 {
		f.add(where, "minReplicaCount %d: the retry topic needs a running worker", lo)
	}
	if !ok || hi < lo || (partitions > 0 && hi > partitions) {
		f.add(where, "maxReplicaCount %d outside [%d, %d partitions]", hi, lo, partitions)
	}
	prefix := env["QG_TOPIC_PREFIX"]
	want := map[string]string{
		"bootstrapServers": env["QG_BOOTSTRAP_SERVERS"],
		"topic":            prefix + "." + stage,
		"consumerGroup":    prefix + "." + stage + ".workers",
	}
	kafka := 0
	for _, t := range list(so, "spec", "triggers") {
		if str(t, "type") != "kafka" {
			continue
		}
		kafka++
		for k, v := range want {
			if got := str(t, "metadata", k); got != v {
				f.add(where, "trigger %s %q, workers use %q", k, got, v)
			}
		}
		checkTriggerAuth(f, m, where, t, env["QG_KAFKA_SECURITY_PROTOCOL"])
	}
	if kafka == 0 {
		f.add(where, "no kafka trigger")
	}
}

// KEDA must reach Kafka the way the workers do.
func checkTriggerAuth(f *findings, m manifests, where string, t any, protocol string) {
	p := strings.ToUpper(protocol)
	if strings.Contains(p, "SASL") {
		if str(t, "metadata", "sasl") == "" {
			f.add(where, "workers use %s but the trigger sets no sasl mode", protocol)
		}
		ref := str(t, "authenticationRef", "name")
		if ref == "" || m.get("TriggerAuthentication", ref) == nil {
			f.add(where, "workers use %s but authenticationRef %q names no TriggerAuthentication", protocol, ref)
		}
	}
	if strings.Contains(p, "SSL") && str(t, "metadata", "tls") != "enable" {
		f.add(where, "workers use %s but the trigger does not enable tls", protocol)
	}
}

// checkRefs: every ConfigMap a pod uses is in the rendering (Secrets are created out of band).
func checkRefs(f *findings, m manifests, where string, pod map[string]any) {
	var names []string
	for _, v := range list(pod, "volumes") {
		if n := str(v, "configMap", "name"); n != "" {
			names = append(names, n)
		}
	}
	for _, c := range list(pod, "containers") {
		for _, ef := range list(c, "envFrom") {
			if n := str(ef, "configMapRef", "name"); n != "" {
				names = append(names, n)
			}
		}
		for _, e := range list(c, "env") {
			if n := str(e, "valueFrom", "configMapKeyRef", "name"); n != "" {
				names = append(names, n)
			}
		}
	}
	for _, n := range names {
		if m.get("ConfigMap", n) == nil {
			f.add(where, "uses ConfigMap %s, which is not in the manifests", n)
		}
	}
	if sa := str(pod, "serviceAccountName"); sa != "" && m.get("ServiceAccount", sa) == nil {
		f.add(where, "uses ServiceAccount %s, which is not in the manifests", sa)
	}
}

func strList(node any, p ...string) []string {
	var out []string
	for _, v := range list(node, p...) {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
