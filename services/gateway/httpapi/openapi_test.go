package httpapi

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestOpenAPIMatchesRoutes checks that api/openapi.yaml documents exactly the
// routes the gateway serves, that every operation documents its errors, and
// that every $ref in it resolves.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "api", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("api/openapi.yaml is not valid YAML: %v", err)
	}
	if !strings.HasPrefix(doc["openapi"].(string), "3.0") {
		t.Errorf("openapi = %v, want 3.0.x", doc["openapi"])
	}

	var documented []string
	for path, item := range doc["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			if method == "parameters" {
				continue
			}
			documented = append(documented, strings.ToUpper(method)+" "+path)
			responses := op.(map[string]any)["responses"].(map[string]any)
			if path != "/healthz" {
				if _, ok := responses["500"]; !ok {
					t.Errorf("%s %s documents no 500", method, path)
				}
				if _, ok := responses["429"]; !ok {
					t.Errorf("%s %s documents no 429", method, path)
				}
			}
		}
	}
	var served []string
	for _, r := range routes {
		served = append(served, r.method+" "+r.path)
	}
	sort.Strings(documented)
	sort.Strings(served)
	if strings.Join(documented, "\n") != strings.Join(served, "\n") {
		t.Errorf("documented routes:\n%s\nserved routes:\n%s", strings.Join(documented, "\n"), strings.Join(served, "\n"))
	}

	for _, ref := range findRefs(doc) {
		if !resolves(doc, ref) {
			t.Errorf("$ref %s does not resolve", ref)
		}
	}
}

func findRefs(v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if k == "$ref" {
				out = append(out, val.(string))
				continue
			}
			out = append(out, findRefs(val)...)
		}
	case []any:
		for _, val := range x {
			out = append(out, findRefs(val)...)
		}
	}
	return out
}

func resolves(doc map[string]any, ref string) bool {
	var node any = doc
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		m, ok := node.(map[string]any)
		if !ok {
			return false
		}
		if node, ok = m[part]; !ok {
			return false
		}
	}
	return true
}
