package store

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// Output types: a step output is a single file or a directory tree.
const (
	TypeFile = "file"
	TypeTree = "tree"
)

// treeFormat tags tree blobs, so a tree can be told from a file that
// happens to be JSON.
const treeFormat = "bitflow-tree-v1"

// Tree is a directory output: the blob stored for it lists every file
// (with its object digest) and every directory, sorted by path. Times and
// owners are not recorded: they are not content.
type Tree struct {
	Format  string      `json:"format"`
	Entries []TreeEntry `json:"entries"`
}

// TreeEntry is one file or directory of a Tree; Path uses '/'.
type TreeEntry struct {
	Path   string `json:"path"`
	Type   string `json:"type"` // "file" or "dir"
	Digest Digest `json:"digest,omitempty"`
	Size   int64  `json:"size,omitempty"`
	Exec   bool   `json:"exec,omitempty"`
}

// Output is a stored step output: its digest, size and type. For a tree,
// the digest and size are those of the tree blob.
type Output struct {
	Digest Digest `json:"digest"`
	Size   int64  `json:"size"`
	Type   string `json:"type"`
}

// PutPath stores the file or directory at src (on the store's filesystem;
// its files are moved, not copied) and returns the output.
func (s *Store) PutPath(src string) (Output, error) {
	fi, err := os.Lstat(src)
	if err != nil {
		return Output{}, err
	}
	switch {
	case fi.Mode().IsRegular():
		d, n, err := s.PutFile(src)
		return Output{Digest: d, Size: n, Type: TypeFile}, err
	case fi.IsDir():
		return s.putDir(src)
	}
	return Output{}, fmt.Errorf("%s is a %s; outputs must be regular files or directories", filepath.Base(src), fi.Mode().Type())
}

func (s *Store) putDir(root string) (Output, error) {
	t := Tree{Format: treeFormat, Entries: []TreeEntry{}}
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		switch {
		case de.IsDir():
			t.Entries = append(t.Entries, TreeEntry{Path: rel, Type: "dir"})
		case de.Type().IsRegular():
			fi, err := de.Info()
			if err != nil {
				return err
			}
			d, n, err := s.PutFile(p)
			if err != nil {
				return err
			}
			t.Entries = append(t.Entries, TreeEntry{Path: rel, Type: "file", Digest: d, Size: n, Exec: fi.Mode()&0o111 != 0})
		default:
			return fmt.Errorf("%s is a %s; directory outputs may hold only regular files and directories", rel, de.Type())
		}
		return nil
	})
	if err != nil {
		return Output{}, err
	}
	sort.Slice(t.Entries, func(i, j int) bool { return t.Entries[i].Path < t.Entries[j].Path })
	blob, err := json.Marshal(t)
	if err != nil {
		return Output{}, err
	}
	d, err := s.PutBytes(blob)
	return Output{Digest: d, Size: int64(len(blob)), Type: TypeTree}, err
}

// ReadTree reads and verifies a tree blob.
func (s *Store) ReadTree(d Digest) (*Tree, error) {
	b, err := s.ReadObject(d)
	if err != nil {
		return nil, err
	}
	var t Tree
	if err := json.Unmarshal(b, &t); err != nil || t.Format != treeFormat {
		return nil, fmt.Errorf("object %s is not a directory tree", d.Short())
	}
	return &t, nil
}

// VerifyOutput verifies an output's object and, for a tree, every file in it.
func (s *Store) VerifyOutput(o Output) error {
	if err := s.Verify(o.Digest, o.Size); err != nil {
		return err
	}
	if o.Type != TypeTree {
		return nil
	}
	t, err := s.ReadTree(o.Digest)
	if err != nil {
		return err
	}
	for _, e := range t.Entries {
		if e.Type == "file" {
			if err := s.Verify(e.Digest, e.Size); err != nil {
				return fmt.Errorf("%s: %w", e.Path, err)
			}
		}
	}
	return nil
}

// Materialize writes a verified copy of an output to dst (which must not
// exist). Copies, not links: a step that writes to its inputs must not be
// able to damage the store.
func (s *Store) Materialize(o Output, dst string) error {
	if o.Type != TypeTree {
		if err := s.Verify(o.Digest, o.Size); err != nil {
			return err
		}
		return copyFile(s.ObjectPath(o.Digest), dst, 0o644)
	}
	t, err := s.ReadTree(o.Digest)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, e := range t.Entries {
		p := filepath.Join(dst, filepath.FromSlash(e.Path))
		if !filepath.IsLocal(filepath.FromSlash(e.Path)) {
			return fmt.Errorf("tree %s: entry %q leaves the tree", o.Digest.Short(), e.Path)
		}
		if e.Type == "dir" {
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := s.Verify(e.Digest, e.Size); err != nil {
			return fmt.Errorf("%s: %w", e.Path, err)
		}
		mode := os.FileMode(0o644)
		if e.Exec {
			mode = 0o755
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := copyFile(s.ObjectPath(e.Digest), p, mode); err != nil {
			return err
		}
	}
	return nil
}

// copyFile copies src to a new file dst. On Linux io.Copy between files uses
// copy_file_range, which shares blocks on filesystems that support it.
func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// Present reports whether an output's object exists with its recorded size,
// without hashing it (a cheap check for planning; reads verify in full).
func (s *Store) Present(o Output) bool {
	fi, err := os.Stat(s.ObjectPath(o.Digest))
	return err == nil && fi.Mode().IsRegular() && fi.Size() == o.Size
}
