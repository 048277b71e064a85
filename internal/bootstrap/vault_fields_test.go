package bootstrap

import (
	"encoding/json"
	"testing"
	"time"
)

func TestFieldsMatch(t *testing.T) {
	want := map[string]any{
		"allowed_domains": []string{"orders.service.bulwark.internal"},
		"allow_ip_sans":   false,
		"key_bits":        256,
		"max_ttl":         time.Hour,
		"key_type":        "ec",
	}
	base := func() map[string]any {
		return map[string]any{
			"allowed_domains": []any{"orders.service.bulwark.internal"},
			"allow_ip_sans":   false,
			"key_bits":        json.Number("256"),
			"max_ttl":         json.Number("3600"),
			"key_type":        "ec",
			"extra":           "ignored",
		}
	}
	tests := []struct {
		desc      string
		change    func(m map[string]any)
		wantMatch bool
		wantField string
	}{
		{"same", func(m map[string]any) {}, true, ""},
		{"other domain", func(m map[string]any) { m["allowed_domains"] = []any{"users.service.bulwark.internal"} }, false, "allowed_domains"},
		{"extra domain", func(m map[string]any) {
			m["allowed_domains"] = []any{"orders.service.bulwark.internal", "*.bulwark.internal"}
		}, false, "allowed_domains"},
		{"IP SANs allowed", func(m map[string]any) { m["allow_ip_sans"] = true }, false, "allow_ip_sans"},
		{"longer TTL", func(m map[string]any) { m["max_ttl"] = json.Number("7200") }, false, "max_ttl"},
		{"missing field", func(m map[string]any) { delete(m, "key_type") }, false, "key_type"},
		{"wrong type", func(m map[string]any) { m["key_bits"] = "256x" }, false, "key_bits"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got := base()
			tt.change(got)
			match, field := fieldsMatch(want, got)
			if match != tt.wantMatch || field != tt.wantField {
				t.Fatalf("fieldsMatch() = %v, %q; want %v, %q", match, field, tt.wantMatch, tt.wantField)
			}
		})
	}
}

func TestRequestDataConvertsDurations(t *testing.T) {
	data := requestData(map[string]any{"ttl": 90 * time.Second, "name": "x"})
	if data["ttl"] != 90 || data["name"] != "x" {
		t.Fatalf("requestData() = %v", data)
	}
}
