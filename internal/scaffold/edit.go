package scaffold

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/bulwark-go/bulwark/internal/bootstrap"
	"github.com/bulwark-go/bulwark/platform/security/authz"
)

// The edits below insert lines into YAML text instead of decoding and
// encoding it, so that every comment, blank line and the layout of the file
// stay as they are. Each edited file is parsed again before anything is
// written.

// editShared returns the changed services.yaml, authz.yaml and, when the
// repository has one, docker-compose.yml.
func editShared(files repoFiles, data templateData) ([]change, error) {
	services, err := editServices(files.services.data, data)
	if err != nil {
		return nil, err
	}
	policy, err := editAuthz(files.authz.data, data)
	if err != nil {
		return nil, err
	}
	changes := []change{
		{path: files.services.path, data: services, existed: true, old: files.services.data, mode: files.services.mode},
		{path: files.authz.path, data: policy, existed: true, old: files.authz.data, mode: files.authz.mode},
	}
	if files.compose != nil {
		compose, err := editCompose(files.compose.data, data)
		if err != nil {
			return nil, err
		}
		changes = append(changes,
			change{path: files.compose.path, data: compose, existed: true, old: files.compose.data, mode: files.compose.mode})
	}
	return changes, nil
}

// editServices appends the service to the services list of services.yaml.
func editServices(text []byte, data templateData) ([]byte, error) {
	lines := splitLines(text)
	at, indent, ok := blockEnd(lines, "services")
	if !ok {
		return nil, fmt.Errorf("scaffold: %s has no block list under a top-level services key; "+
			"add the entry \"- name: %s\" by hand", servicesFile, data.Name)
	}
	description, err := yamlScalar(data.Description)
	if err != nil {
		return nil, err
	}
	entry := []string{
		indent + "- name: " + data.Name,
		indent + "  description: " + description,
	}
	out := joinLines(slices.Insert(lines, at, entry...))

	parsed, err := bootstrap.ParseServices(out, servicesFile)
	if err != nil {
		return nil, fmt.Errorf("scaffold: the edited %s does not parse: %w", servicesFile, err)
	}
	if !slices.ContainsFunc(parsed, func(s bootstrap.Service) bool { return s.Name == data.Name }) {
		return nil, fmt.Errorf("scaffold: the edited %s does not list %s; add it by hand", servicesFile, data.Name)
	}
	return out, nil
}

// editAuthz declares the service in authz.yaml with no callers: an empty
// endpoints map, so every call to it is denied until a caller is listed.
func editAuthz(text []byte, data templateData) ([]byte, error) {
	lines := splitLines(text)
	at, indent, ok := blockEnd(lines, "services")
	if !ok {
		return nil, fmt.Errorf("scaffold: %s has no block list under a top-level services key; "+
			"add \"- %s\" by hand", authzFile, data.Name)
	}
	lines = slices.Insert(lines, at, indent+"- "+data.Name)

	entry := func(indent string) []string {
		return []string{
			indent + "# Nobody may call " + data.Name + " yet. To allow a caller, replace {} with one",
			indent + "# line per endpoint and its callers, for example:",
			indent + "#   " + data.Type + ".Ping: [gateway]",
			indent + data.Name + ": {}",
		}
	}
	if at, indent, ok := blockEnd(lines, "endpoints"); ok {
		lines = slices.Insert(lines, at, entry(indent)...)
	} else if slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "endpoints:") }) {
		return nil, fmt.Errorf("scaffold: the endpoints of %s are not a block mapping; add \"%s: {}\" by hand",
			authzFile, data.Name)
	} else {
		lines = append(trimTrailingBlank(lines), append([]string{"", "endpoints:"}, entry("  ")...)...)
	}
	out := joinLines(lines)

	if _, err := authz.Parse(authzFile, out); err != nil {
		return nil, fmt.Errorf("scaffold: the edited %s does not parse: %w", authzFile, err)
	}
	var policy struct {
		Services  []string             `yaml:"services"`
		Endpoints map[string]yaml.Node `yaml:"endpoints"`
	}
	if err := yaml.Unmarshal(out, &policy); err != nil {
		return nil, fmt.Errorf("scaffold: the edited %s does not parse: %w", authzFile, err)
	}
	if _, ok := policy.Endpoints[data.Name]; !ok || !slices.Contains(policy.Services, data.Name) {
		return nil, fmt.Errorf("scaffold: the edited %s does not declare %s; add it by hand", authzFile, data.Name)
	}
	return out, nil
}

// composeAddress matches a fixed address of a compose service and captures
// its last octet.
var composeAddress = regexp.MustCompile(`(?m)^\s*ipv4_address:\s*\S*\.([0-9]{1,3})\s*$`)

// firstServiceHost is the last octet of the first service address on the
// compose network. Lower octets belong to Consul, Vault, Redis and the
// bootstrap.
const firstServiceHost = 20

// nextComposeHost returns the octet after the highest service address in
// docker-compose.yml.
func nextComposeHost(text []byte) (int, error) {
	next := firstServiceHost
	for _, m := range composeAddress.FindAllSubmatch(text, -1) {
		host, _ := strconv.Atoi(string(m[1]))
		if host >= next {
			next = host + 1
		}
	}
	if next > 254 {
		return 0, fmt.Errorf("scaffold: %s uses every address up to .254 of the internal network; "+
			"give a service a free address below it by hand", composeFile)
	}
	return next, nil
}

// editCompose adds the service to docker-compose.yml, at the end of the
// services block.
func editCompose(text []byte, data templateData) ([]byte, error) {
	lines := splitLines(text)
	at, _, ok := blockEnd(lines, "services")
	if !ok {
		return nil, fmt.Errorf("scaffold: %s has no top-level services block", composeFile)
	}
	entry, err := render("infra/compose.yml.tmpl", data)
	if err != nil {
		return nil, err
	}
	lines = slices.Insert(lines, at, append([]string{""}, splitLines(entry)...)...)
	out := joinLines(lines)

	var compose struct {
		Services map[string]struct {
			Image string `yaml:"image"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(out, &compose); err != nil {
		return nil, fmt.Errorf("scaffold: the edited %s does not parse: %w", composeFile, err)
	}
	if !strings.HasPrefix(compose.Services[data.Name].Image, "bulwark-"+data.Name+":") {
		return nil, fmt.Errorf("scaffold: the edited %s has no service %s; add it by hand", composeFile, data.Name)
	}
	return out, nil
}

// blockEnd finds the block under the top-level key and returns the index
// after its last indented line that is not a comment, with the indentation
// of that line. Comments and blank lines after it stay with what follows.
func blockEnd(lines []string, key string) (at int, indent string, ok bool) {
	start := slices.IndexFunc(lines, func(l string) bool {
		rest, found := strings.CutPrefix(l, key+":")
		rest = strings.TrimSpace(rest)
		return found && (rest == "" || strings.HasPrefix(rest, "#"))
	})
	if start < 0 {
		return 0, "", false
	}
	last := -1
	for i := start + 1; i < len(lines); i++ {
		line := lines[i]
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if line[0] != ' ' {
			break
		}
		if last < 0 {
			indent = line[:len(line)-len(strings.TrimLeft(line, " "))]
		}
		last = i
	}
	if last < 0 {
		return 0, "", false
	}
	return last + 1, indent, true
}

// yamlScalar returns s as a YAML scalar: plain when that reads back as s,
// else quoted.
func yamlScalar(s string) (string, error) {
	out, err := yaml.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("scaffold: %w", err)
	}
	return strings.TrimSuffix(string(out), "\n"), nil
}

func splitLines(text []byte) []string {
	return strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")
}

func joinLines(lines []string) []byte {
	return []byte(strings.Join(lines, "\n") + "\n")
}

func trimTrailingBlank(lines []string) []string {
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}
