package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// crdToSchemas writes OUT/<group>/<kind>_<version>.json for every version of every
// CustomResourceDefinition in the files: the version's openAPIV3Schema made strict
// (objects with listed properties accept no others) the way kubeconform expects it.
func crdToSchemas(out string, files []string) {
	n := 0
	for _, file := range files {
		for _, doc := range readYAMLDocs(file) {
			if str(doc, "kind") != "CustomResourceDefinition" {
				continue
			}
			group := str(doc, "spec", "group")
			kind := strings.ToLower(str(doc, "spec", "names", "kind"))
			for _, v := range list(doc, "spec", "versions") {
				vm, _ := v.(map[string]any)
				schema, ok := get(vm, "schema", "openAPIV3Schema").(map[string]any)
				if !ok || group == "" || kind == "" {
					die("%s: CRD without group, kind or openAPIV3Schema", file)
				}
				path := filepath.Join(out, group, kind+"_"+str(vm, "name")+".json")
				writeJSON(path, strictSchema(schema))
				n++
			}
		}
	}
	if n == 0 {
		die("no CustomResourceDefinition versions in %v", files)
	}
}

func strictSchema(node any) any {
	switch v := node.(type) {
	case map[string]any:
		if b, _ := v["x-kubernetes-int-or-string"].(bool); b {
			return map[string]any{"description": v["description"],
				"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}
		}
		out := make(map[string]any, len(v)+1)
		for k, val := range v {
			out[k] = strictSchema(val)
		}
		_, hasProps := v["properties"]
		_, hasAdditional := v["additionalProperties"]
		preserve, _ := v["x-kubernetes-preserve-unknown-fields"].(bool)
		if hasProps && !hasAdditional && !preserve {
			out["additionalProperties"] = false
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, val := range v {
			out[i] = strictSchema(val)
		}
		return out
	}
	return node
}

// rewriteK8sSchemas copies the Kubernetes JSON schemas shipped in the PyPI package
// kubernetes-validate (<version>-local-strict/) so that kubeconform can load them: their
// $ref "/api/_definitions.json#..." resolves against a $id on kubernetes.io, which a file
// loader cannot fetch; drop the $id and point the reference at the file next to it.
func rewriteK8sSchemas(src, out string) {
	files, err := filepath.Glob(filepath.Join(src, "*.json"))
	if err != nil || len(files) == 0 {
		die("no schemas in %s", src)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			die("%v", err)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var doc any
		if err := dec.Decode(&doc); err != nil {
			die("%s: %v", file, err)
		}
		if m, ok := doc.(map[string]any); ok {
			delete(m, "$id")
		}
		writeJSON(filepath.Join(out, filepath.Base(file)), localRefs(doc))
	}
}

func localRefs(node any) any {
	switch v := node.(type) {
	case map[string]any:
		for k, val := range v {
			if s, ok := val.(string); ok && k == "$ref" {
				v[k] = strings.Replace(s, "/api/_definitions.json#", "_definitions.json#", 1)
			} else {
				v[k] = localRefs(val)
			}
		}
	case []any:
		for i, val := range v {
			v[i] = localRefs(val)
		}
	}
	return node
}

func writeJSON(path string, v any) {
	data, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		die("%s: %v", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		die("%v", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		die("%v", err)
	}
}

// readYAMLDocs reads every document of a YAML stream ("-" is standard input).
func readYAMLDocs(file string) []map[string]any {
	var r io.Reader = os.Stdin
	if file != "-" {
		fh, err := os.Open(file)
		if err != nil {
			die("%v", err)
		}
		defer fh.Close()
		r = fh
	}
	dec := yaml.NewDecoder(r)
	var docs []map[string]any
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			die("%s: %v", file, err)
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
}

// get walks nested maps by key; nil when a step is missing.
func get(node any, path ...string) any {
	for _, k := range path {
		m, ok := node.(map[string]any)
		if !ok {
			return nil
		}
		node = m[k]
	}
	return node
}

func str(node any, path ...string) string {
	s, _ := get(node, path...).(string)
	return s
}

func list(node any, path ...string) []any {
	l, _ := get(node, path...).([]any)
	return l
}

func num(node any, path ...string) (int, bool) {
	switch v := get(node, path...).(type) {
	case int:
		return v, true
	case float64:
		return int(v), true
	}
	return 0, false
}
