package ratelimit

import (
	"strings"
	"testing"
)

func TestRulesLookup(t *testing.T) {
	r := &Rules{
		Default:   PerSecond(100, 100),
		Endpoints: map[string]Limit{"Orders.Create": PerSecond(10, 10)},
		Callers:   map[string]Limit{"gateway": PerSecond(1000, 1000)},
		Pairs:     map[string]map[string]Limit{"Orders.Create": {"gateway": PerSecond(50, 50)}},
	}
	tests := []struct {
		desc     string
		endpoint string
		caller   string
		want     Limit
	}{
		{desc: "pair", endpoint: "Orders.Create", caller: "gateway", want: PerSecond(50, 50)},
		{desc: "endpoint beats caller", endpoint: "Orders.Create", caller: "users", want: PerSecond(10, 10)},
		{desc: "caller", endpoint: "Orders.Get", caller: "gateway", want: PerSecond(1000, 1000)},
		{desc: "default", endpoint: "Orders.Get", caller: "users", want: PerSecond(100, 100)},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := r.Lookup(tt.endpoint, tt.caller); got != tt.want {
				t.Fatalf("Lookup(%q, %q) = %v, want %v", tt.endpoint, tt.caller, got, tt.want)
			}
		})
	}
}

func TestRulesValidate(t *testing.T) {
	endpoints := []string{"Orders.Create", "Orders.Get"}
	tests := []struct {
		desc    string
		rules   Rules
		wantErr string
	}{
		{desc: "valid", rules: Rules{Default: PerSecond(1, 1), Endpoints: map[string]Limit{"Orders.Get": PerSecond(2, 2)}}},
		{desc: "no default", rules: Rules{}, wantErr: "default limit"},
		{desc: "bad anonymous", rules: Rules{Default: PerSecond(1, 1), Anonymous: PerSecond(1, 0)}, wantErr: "anonymous limit"},
		{desc: "unknown endpoint", rules: Rules{Default: PerSecond(1, 1), Endpoints: map[string]Limit{"Orders.Delete": PerSecond(1, 1)}},
			wantErr: `endpoint "Orders.Delete" is not registered`},
		{desc: "bad endpoint limit", rules: Rules{Default: PerSecond(1, 1), Endpoints: map[string]Limit{"Orders.Get": {}}},
			wantErr: `endpoint "Orders.Get"`},
		{desc: "bad caller limit", rules: Rules{Default: PerSecond(1, 1), Callers: map[string]Limit{"gateway": PerSecond(-1, 1)}},
			wantErr: `caller "gateway"`},
		{desc: "unknown pair endpoint", rules: Rules{Default: PerSecond(1, 1),
			Pairs: map[string]map[string]Limit{"Nope.Nope": {"gateway": PerSecond(1, 1)}}}, wantErr: `"Nope.Nope" is not registered`},
		{desc: "bad pair limit", rules: Rules{Default: PerSecond(1, 1),
			Pairs: map[string]map[string]Limit{"Orders.Get": {"gateway": PerSecond(1, 0)}}}, wantErr: `caller "gateway" on endpoint "Orders.Get"`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			err := tt.rules.Validate(endpoints)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
