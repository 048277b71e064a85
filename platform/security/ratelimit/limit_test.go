package ratelimit

import (
	"strings"
	"testing"
	"time"
)

func TestParseLimit(t *testing.T) {
	tests := []struct {
		desc    string
		text    string
		want    Limit
		wantErr string
	}{
		{desc: "per second with burst", text: "100/s burst 20", want: PerSecond(100, 20)},
		{desc: "burst defaults to rate", text: "5/m", want: PerMinute(5, 5)},
		{desc: "per hour", text: "1000/h burst 50", want: PerHour(1000, 50)},
		{desc: "long unit names", text: "2/minute burst 1", want: PerMinute(2, 1)},
		{desc: "go duration", text: "3/10s burst 3", want: Limit{Rate: 3, Per: 10 * time.Second, Burst: 3}},
		{desc: "extra spaces", text: "  7/s   burst  2 ", want: PerSecond(7, 2)},
		{desc: "empty", text: "", wantErr: "not of the form"},
		{desc: "no period", text: "100", wantErr: "has no /PERIOD"},
		{desc: "empty period", text: "100/", wantErr: "period is empty"},
		{desc: "bad period", text: "100/fortnight", wantErr: `period "fortnight"`},
		{desc: "bad rate", text: "ten/s", wantErr: `rate "ten"`},
		{desc: "negative rate", text: "-1/s", wantErr: "rate -1"},
		{desc: "zero rate", text: "0/s", wantErr: "rate 0"},
		{desc: "burst zero", text: "10/s burst 0", wantErr: "burst 0"},
		{desc: "burst negative", text: "10/s burst -5", wantErr: "burst -5"},
		{desc: "burst too large", text: "10/s burst 1000001", wantErr: "burst 1000001"},
		{desc: "bad burst", text: "10/s burst many", wantErr: `burst "many"`},
		{desc: "wrong keyword", text: "10/s bursts 5", wantErr: `"bursts"`},
		{desc: "period too short", text: "1/1us", wantErr: "period 1µs"},
		{desc: "period too long", text: "1/48h", wantErr: "period 48h0m0s"},
		{desc: "negative period", text: "1/-1s", wantErr: "period -1s"},
		{desc: "rate above one per ns", text: "2000000/1ms", wantErr: "more than one request per nanosecond"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := ParseLimit(tt.text)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseLimit(%q) = %v, want an error containing %q", tt.text, got, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseLimit(%q) error = %q, want it to contain %q", tt.text, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseLimit(%q) = %v", tt.text, err)
			}
			if got != tt.want {
				t.Fatalf("ParseLimit(%q) = %+v, want %+v", tt.text, got, tt.want)
			}
		})
	}
}

func TestLimitStringRoundTrip(t *testing.T) {
	for _, l := range []Limit{PerSecond(100, 20), PerMinute(5, 1), PerHour(1, 1), {Rate: 3, Per: 10 * time.Second, Burst: 2}} {
		back, err := ParseLimit(l.String())
		if err != nil {
			t.Fatalf("ParseLimit(%q) = %v", l.String(), err)
		}
		if back != l {
			t.Fatalf("ParseLimit(%q) = %+v, want %+v", l.String(), back, l)
		}
	}
}

func TestLimitValidate(t *testing.T) {
	tests := []struct {
		desc    string
		limit   Limit
		wantErr string
	}{
		{desc: "valid", limit: PerSecond(1, 1)},
		{desc: "zero", limit: Limit{}, wantErr: "rate 0"},
		{desc: "no period", limit: Limit{Rate: 1, Burst: 1}, wantErr: "period 0s"},
		{desc: "no burst", limit: PerSecond(1, 0), wantErr: "burst 0"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			err := tt.limit.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
			if tt.limit.usable() {
				t.Fatalf("usable() = true for %+v, which Validate rejects", tt.limit)
			}
		})
	}
}

func TestLimitIntervalRoundsUp(t *testing.T) {
	// 1h / 7 is 514285714285.71 ns; rounding down would admit slightly more
	// than 7 per hour.
	if got, want := PerHour(7, 1).Interval(), time.Duration(514285714286); got != want {
		t.Fatalf("Interval() = %d, want %d", got, want)
	}
	if got, want := PerSecond(10, 5).Window(), 500*time.Millisecond; got != want {
		t.Fatalf("Window() = %s, want %s", got, want)
	}
}
