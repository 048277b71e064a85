package scaffold

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// writeFunc writes data to path with mode perm, replacing any file there.
type writeFunc func(path string, data []byte, perm fs.FileMode) error

// apply writes changes in order with write. When a write fails, it puts
// back the old contents of the changed files, removes the new files and the
// directories it created, and returns the write error joined with any
// failure of that rollback.
func apply(repo string, changes []change, write writeFunc) error {
	var done []change
	var createdDirs []string
	for _, c := range changes {
		full := filepath.Join(repo, filepath.FromSlash(c.path))
		dirs, err := makeParents(repo, filepath.Dir(full))
		createdDirs = append(createdDirs, dirs...)
		if err == nil {
			err = write(full, c.data, c.mode)
		}
		if err != nil {
			err = fmt.Errorf("scaffold: write %s: %w", c.path, err)
			return errors.Join(err, rollback(repo, done, createdDirs))
		}
		done = append(done, c)
	}
	return nil
}

// rollback undoes the written changes, newest first, and removes the
// created directories, deepest first.
func rollback(repo string, done []change, createdDirs []string) error {
	var errs []error
	for _, c := range slices.Backward(done) {
		full := filepath.Join(repo, filepath.FromSlash(c.path))
		if c.existed {
			if err := writeAtomic(full, c.old, c.mode); err != nil {
				errs = append(errs, fmt.Errorf("restore %s: %w", c.path, err))
			}
			continue
		}
		if err := os.Remove(full); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove %s: %w", c.path, err))
		}
	}
	for _, dir := range slices.Backward(createdDirs) {
		if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove directory %s: %w", dir, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("scaffold: the rollback failed as well; fix these by hand: %w", errors.Join(errs...))
	}
	return nil
}

// makeParents creates dir and its missing parents below repo, and returns
// the directories it created, outermost first.
func makeParents(repo, dir string) ([]string, error) {
	var missing []string
	for d := dir; d != repo && d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		missing = append(missing, d)
	}
	var created []string
	for _, d := range slices.Backward(missing) {
		if err := os.Mkdir(d, 0o755); err != nil {
			return created, err
		}
		created = append(created, d)
	}
	return created, nil
}

// writeAtomic writes data to a temporary file in the directory of path and
// renames it over path, so a reader sees the old file or the new one and
// never a partial write.
func writeAtomic(path string, data []byte, perm fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	name := tmp.Name()
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Chmod(name, perm)
	}
	if err == nil {
		err = os.Rename(name, path)
	}
	if err != nil {
		os.Remove(name)
		return err
	}
	return nil
}
