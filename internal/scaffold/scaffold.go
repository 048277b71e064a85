package scaffold

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"go/format"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"text/template"
)

//go:embed templates
var templates embed.FS

// Options selects the repository and the new service.
type Options struct {
	// Repo is the repository root: the directory containing go.mod,
	// infra/ and services/. Required.
	Repo string

	// Name is the service name; see ValidateName. Required.
	Name string

	// Description is one line about the service, written to
	// infra/services.yaml and the package comment of its main.go.
	// Default: "a service added with bulwark new service".
	Description string
}

// DefaultDescription is the description of a service when Options has none.
const DefaultDescription = "a service added with bulwark new service"

// Result lists what NewService wrote, as paths relative to the repository.
type Result struct {
	// Created are the new files.
	Created []string
	// Changed are the existing files that received the service's entries.
	Changed []string
	// ComposeAddress is the last octet of the service's fixed address on
	// the compose network, or zero when the repository has no
	// docker-compose.yml.
	ComposeAddress int
	// HandlerType is the Go type of the service's handler, which names its
	// endpoints: <HandlerType>.<Method>.
	HandlerType string
}

// templateData is the data that the templates render.
type templateData struct {
	Name        string // service name, for example payments
	Type        string // handler type, for example Payments
	Module      string // Go module path of the repository
	Description string
	Host        int // last octet of the compose address
}

// change is one file that NewService writes: a new file when old is nil.
type change struct {
	path    string // relative to the repository, slash separated
	data    []byte
	existed bool
	old     []byte
	mode    fs.FileMode
}

// NewService adds the service opts.Name to the repository opts.Repo. It
// checks the name and every file first, and returns an error naming every
// conflict without writing anything. When a write fails, it restores the
// files written before and returns the error.
func NewService(opts Options) (Result, error) {
	changes, result, err := plan(opts)
	if err != nil {
		return Result{}, err
	}
	if err := apply(opts.Repo, changes, writeAtomic); err != nil {
		return Result{}, err
	}
	return result, nil
}

// plan checks opts against the repository and returns the files to write.
func plan(opts Options) ([]change, Result, error) {
	if opts.Repo == "" {
		return nil, Result{}, errors.New("scaffold: repository root is not set; pass -repo DIR or run inside the repository")
	}
	if err := ValidateName(opts.Name); err != nil {
		return nil, Result{}, err
	}
	if opts.Description == "" {
		opts.Description = DefaultDescription
	}
	if strings.ContainsAny(opts.Description, "\n\r\"\\") || len(opts.Description) > 200 {
		return nil, Result{}, fmt.Errorf("scaffold: description %q must be one line of at most 200 characters "+
			"without quotes or backslashes", opts.Description)
	}
	module, err := modulePath(opts.Repo)
	if err != nil {
		return nil, Result{}, err
	}
	files, err := readRepoFiles(opts.Repo)
	if err != nil {
		return nil, Result{}, err
	}
	if err := checkUnused(opts.Repo, opts.Name, files); err != nil {
		return nil, Result{}, err
	}

	data := templateData{Name: opts.Name, Type: typeName(opts.Name), Module: module, Description: opts.Description}
	var changes []change
	result := Result{HandlerType: data.Type}
	if files.compose != nil {
		if data.Host, err = nextComposeHost(files.compose.data); err != nil {
			return nil, Result{}, err
		}
		result.ComposeAddress = data.Host
	}

	generated, err := renderService(data)
	if err != nil {
		return nil, Result{}, err
	}
	for _, c := range generated {
		changes = append(changes, c)
		result.Created = append(result.Created, c.path)
	}

	edits, err := editShared(files, data)
	if err != nil {
		return nil, Result{}, err
	}
	for _, c := range edits {
		changes = append(changes, c)
		result.Changed = append(result.Changed, c.path)
	}
	return changes, result, nil
}

// renderService renders the service's Go packages and its own infra files.
func renderService(data templateData) ([]change, error) {
	outputs := []struct{ template, path string }{
		{"service/main.go.tmpl", "services/{{.Name}}/main.go"},
		{"service/api/api.go.tmpl", "services/{{.Name}}/api/api.go"},
		{"service/handler/handler.go.tmpl", "services/{{.Name}}/handler/handler.go"},
		{"service/handler/handler_test.go.tmpl", "services/{{.Name}}/handler/handler_test.go"},
		{"service/client/client.go.tmpl", "services/{{.Name}}/client/client.go"},
		{"infra/consul.hcl.tmpl", "infra/consul/policies/{{.Name}}.hcl"},
		{"infra/ratelimit.yaml.tmpl", "infra/ratelimit/{{.Name}}.yaml"},
	}
	var changes []change
	for _, out := range outputs {
		text, err := render(out.template, data)
		if err != nil {
			return nil, err
		}
		rel := strings.ReplaceAll(out.path, "{{.Name}}", data.Name)
		if strings.HasSuffix(rel, ".go") {
			formatted, err := format.Source(text)
			if err != nil {
				return nil, fmt.Errorf("scaffold: template %s renders Go that does not parse: %w", out.template, err)
			}
			text = formatted
		}
		changes = append(changes, change{path: rel, data: text, mode: 0o644})
	}
	return changes, nil
}

// render executes one embedded template.
func render(name string, data templateData) ([]byte, error) {
	text, err := templates.ReadFile(path.Join("templates", name))
	if err != nil {
		return nil, fmt.Errorf("scaffold: %w", err)
	}
	tmpl, err := template.New(name).Option("missingkey=error").Parse(string(text))
	if err != nil {
		return nil, fmt.Errorf("scaffold: parse template %s: %w", name, err)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("scaffold: render template %s: %w", name, err)
	}
	return b.Bytes(), nil
}

// modulePath returns the module path in the repository's go.mod, so that
// a fork with its own module path gets imports of that path.
func modulePath(repo string) (string, error) {
	file := filepath.Join(repo, "go.mod")
	data, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("scaffold: %s is not a Go module root: %w; pass the repository root with -repo", repo, err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	return "", fmt.Errorf("scaffold: %s has no module line", file)
}
