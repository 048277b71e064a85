package scaffold

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/bulwark-go/bulwark/internal/bootstrap"
)

// Repository files that receive the entries of a new service, relative to
// the repository root.
const (
	servicesFile = "infra/services.yaml"
	authzFile    = "infra/authz.yaml"
	composeFile  = "docker-compose.yml"
)

// sharedFile is an existing file read before any change.
type sharedFile struct {
	path string // relative to the repository
	data []byte
	mode fs.FileMode
}

// repoFiles are the shared files of a repository. compose is nil when the
// repository has no docker-compose.yml.
type repoFiles struct {
	services, authz, compose *sharedFile
}

func readRepoFiles(repo string) (repoFiles, error) {
	var files repoFiles
	var err error
	if files.services, err = readShared(repo, servicesFile, true); err != nil {
		return files, err
	}
	if files.authz, err = readShared(repo, authzFile, true); err != nil {
		return files, err
	}
	if files.compose, err = readShared(repo, composeFile, false); err != nil {
		return files, err
	}
	return files, nil
}

// readShared reads a file of the repository. A missing optional file
// returns nil.
func readShared(repo, rel string, required bool) (*sharedFile, error) {
	full := filepath.Join(repo, filepath.FromSlash(rel))
	info, err := os.Stat(full)
	if errors.Is(err, fs.ErrNotExist) && !required {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("scaffold: %w; pass the root of a Bulwark repository with -repo", err)
	}
	data, err := os.ReadFile(full)
	if err != nil {
		return nil, fmt.Errorf("scaffold: %w", err)
	}
	return &sharedFile{path: rel, data: data, mode: info.Mode().Perm()}, nil
}

// checkUnused returns an error listing every place that already uses name.
func checkUnused(repo, name string, files repoFiles) error {
	var conflicts []string
	for _, rel := range []string{
		"services/" + name,
		"infra/consul/policies/" + name + ".hcl",
		"infra/ratelimit/" + name + ".yaml",
	} {
		if _, err := os.Lstat(filepath.Join(repo, filepath.FromSlash(rel))); err == nil {
			conflicts = append(conflicts, rel+" exists")
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("scaffold: %w", err)
		}
	}

	services, err := bootstrap.ParseServices(files.services.data, servicesFile)
	if err != nil {
		return fmt.Errorf("scaffold: fix %s first: %w", servicesFile, err)
	}
	if slices.ContainsFunc(services, func(s bootstrap.Service) bool { return s.Name == name }) {
		conflicts = append(conflicts, servicesFile+" lists it")
	}

	var policy struct {
		Services  []string             `yaml:"services"`
		Endpoints map[string]yaml.Node `yaml:"endpoints"`
	}
	if err := yaml.Unmarshal(files.authz.data, &policy); err != nil {
		return fmt.Errorf("scaffold: fix %s first: %w", authzFile, err)
	}
	if slices.Contains(policy.Services, name) {
		conflicts = append(conflicts, authzFile+" declares it under services")
	}
	if _, ok := policy.Endpoints[name]; ok {
		conflicts = append(conflicts, authzFile+" lists its endpoints")
	}

	if files.compose != nil {
		var compose struct {
			Services map[string]yaml.Node `yaml:"services"`
		}
		if err := yaml.Unmarshal(files.compose.data, &compose); err != nil {
			return fmt.Errorf("scaffold: fix %s first: %w", composeFile, err)
		}
		if _, ok := compose.Services[name]; ok {
			conflicts = append(conflicts, composeFile+" has a service of that name")
		}
	}

	if len(conflicts) > 0 {
		return fmt.Errorf("scaffold: service name %q is already in use (%s); nothing was changed. "+
			"Choose another name, or remove the old service's entries first", name, strings.Join(conflicts, "; "))
	}
	return nil
}
