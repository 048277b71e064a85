package bootstrap

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// fieldsMatch reports whether every field of want has the same value in
// got, a map decoded by the Vault client. Vault returns numbers as
// json.Number and lists as []any, so values are compared in normalized form.
// Fields of got that want does not name are ignored. It returns the first
// field that differs, for the log.
func fieldsMatch(want, got map[string]any) (bool, string) {
	for key, wantValue := range want {
		gotValue, ok := got[key]
		if !ok {
			return false, key
		}
		if !valueEqual(wantValue, gotValue) {
			return false, key
		}
	}
	return true, ""
}

func valueEqual(want, got any) bool {
	switch w := want.(type) {
	case []string:
		list, ok := stringList(got)
		return ok && slices.Equal(w, list)
	case int:
		n, ok := number(got)
		return ok && n == int64(w)
	case time.Duration:
		n, ok := number(got)
		return ok && n == int64(w/time.Second)
	case bool, string:
		return want == got
	default:
		return fmt.Sprint(want) == fmt.Sprint(got)
	}
}

func stringList(value any) ([]string, bool) {
	switch v := value.(type) {
	case nil:
		return []string{}, true
	case []string:
		return v, true
	case []any:
		out := make([]string, 0, len(v))
		for _, item := range v {
			s, ok := item.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	case string:
		if v == "" {
			return []string{}, true
		}
		return []string{v}, true
	}
	return nil, false
}

func number(value any) (int64, bool) {
	switch v := value.(type) {
	case json.Number:
		n, err := v.Int64()
		return n, err == nil
	case float64:
		return int64(v), true
	case int:
		return int64(v), true
	case int64:
		return v, true
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// seconds converts a duration to the integer seconds that Vault's TTL
// fields take.
func seconds(d time.Duration) int {
	return int(d / time.Second)
}

// requestData converts want to the body of a Vault write: durations become
// integer seconds.
func requestData(want map[string]any) map[string]any {
	data := make(map[string]any, len(want))
	for key, value := range want {
		if d, ok := value.(time.Duration); ok {
			data[key] = seconds(d)
			continue
		}
		data[key] = value
	}
	return data
}
