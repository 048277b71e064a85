package httplimit

import "strings"

// forwardedFor returns the for= value of each element of Forwarded header
// lines (RFC 7239), in order. An element without for= yields "", which
// parseNode rejects, so the walk stops there. Quoted strings may contain
// commas and semicolons, so the lines are scanned rather than split.
func forwardedFor(lines []string) []string {
	var values []string
	for _, line := range lines {
		for _, element := range splitOutsideQuotes(line, ',') {
			value := ""
			for _, pair := range splitOutsideQuotes(element, ';') {
				name, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if ok && strings.EqualFold(strings.TrimSpace(name), "for") {
					value = unquote(strings.TrimSpace(v))
				}
			}
			values = append(values, value)
		}
	}
	return values
}

// splitOutsideQuotes splits s at each sep that is not inside a quoted
// string; a backslash escapes the next character inside quotes.
func splitOutsideQuotes(s string, sep byte) []string {
	var parts []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// unquote removes the quotes of a quoted-string and its backslash escapes.
func unquote(s string) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	var b strings.Builder
	for i := 1; i < len(s)-1; i++ {
		if s[i] == '\\' && i+1 < len(s)-1 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
