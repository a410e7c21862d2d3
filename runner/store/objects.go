package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Digest names an object: "sha256:" and the hex SHA-256 of its bytes.
type Digest string

const digestPrefix = "sha256:"

// Hex returns the digest's hex part.
func (d Digest) Hex() string { return strings.TrimPrefix(string(d), digestPrefix) }

// Short returns the first 12 hex digits, for display.
func (d Digest) Short() string {
	h := d.Hex()
	if len(h) > 12 {
		h = h[:12]
	}
	return h
}

// Valid reports whether d is a well-formed digest.
func (d Digest) Valid() bool {
	return strings.HasPrefix(string(d), digestPrefix) && validHex(d.Hex())
}

// DigestOf returns the digest of b.
func DigestOf(b []byte) Digest {
	sum := sha256.Sum256(b)
	return Digest(digestPrefix + hex.EncodeToString(sum[:]))
}

func digestFromHash(h hash.Hash) Digest {
	return Digest(digestPrefix + hex.EncodeToString(h.Sum(nil)))
}

// ErrMissing is returned for an object that is not in the store.
var ErrMissing = errors.New("object missing")

// CorruptError reports an object whose bytes do not match its name. The
// object has been moved to quarantine/ by the time the error is returned.
type CorruptError struct {
	Digest Digest
	Why    string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("object %s is corrupt (%s); quarantined", e.Digest.Short(), e.Why)
}

// ObjectPath returns where the object is stored. Callers must not write to
// it; they read it only after Verify.
func (s *Store) ObjectPath(d Digest) string {
	h := d.Hex()
	if len(h) < 2 {
		return s.path(dirObjects, "sha256", "invalid")
	}
	return s.path(dirObjects, "sha256", h[:2], h)
}

// PutBytes stores b and returns its digest.
func (s *Store) PutBytes(b []byte) (Digest, error) {
	d := DigestOf(b)
	if s.present(d, int64(len(b))) {
		return d, nil
	}
	f, err := os.CreateTemp(s.path(dirTmp), "obj-*")
	if err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	tmp := f.Name()
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(tmp)
		return "", fmt.Errorf("store: %w", err)
	}
	return d, s.install(f, d)
}

// PutFile moves the regular file at src into the store (src must be on the
// store's filesystem, e.g. under TempDir) and returns its digest and size.
func (s *Store) PutFile(src string) (Digest, int64, error) {
	f, err := os.OpenFile(src, os.O_RDWR, 0)
	if err != nil {
		return "", 0, fmt.Errorf("store: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		f.Close()
		return "", 0, fmt.Errorf("store: hashing %s: %w", src, err)
	}
	d := digestFromHash(h)
	if s.present(d, n) {
		f.Close()
		os.Remove(src)
		return d, n, nil
	}
	return d, n, s.install(f, d)
}

// PutCopy stores a copy of the file at src (anywhere) and returns its
// digest.
func (s *Store) PutCopy(src string) (Digest, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	f, err := os.CreateTemp(s.path(dirTmp), "obj-*")
	if err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(f, h), in); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	d := digestFromHash(h)
	return d, s.install(f, d)
}

// DigestFile returns the digest of the file at path without storing it.
func DigestFile(path string) (Digest, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return digestFromHash(h), nil
}

// install syncs and closes f, makes it read-only and renames it to the
// object's path. Renaming over an existing object is fine: the bytes are the
// same, and it repairs an object that was damaged in place.
func (s *Store) install(f *os.File, d Digest) error {
	src := f.Name()
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(src, 0o444)
	}
	dst := s.ObjectPath(d)
	if err == nil {
		err = os.MkdirAll(filepath.Dir(dst), 0o755)
	}
	if err == nil {
		err = os.Rename(src, dst)
	}
	if err != nil {
		os.Remove(src)
		return fmt.Errorf("store: storing object %s: %w", d.Short(), err)
	}
	if fi, err := os.Stat(dst); err == nil {
		s.verified.Store(d, fi.Size())
	}
	return nil
}

// present reports whether the object is in the store with this size and was
// verified by this process (so writing it again can be skipped).
func (s *Store) present(d Digest, size int64) bool {
	v, ok := s.verified.Load(d)
	return ok && v.(int64) == size
}

// Verify checks that the object exists with the given size (-1: any) and
// that its bytes hash to its digest. A mismatch quarantines the object and
// returns a *CorruptError; an absent object returns ErrMissing.
func (s *Store) Verify(d Digest, size int64) error {
	if !d.Valid() {
		return fmt.Errorf("store: invalid digest %q", d)
	}
	if v, ok := s.verified.Load(d); ok && (size < 0 || v.(int64) == size) {
		return nil
	}
	p := s.ObjectPath(d)
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("object %s: %w", d.Short(), ErrMissing)
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return s.quarantine(d, "not a regular file")
	}
	if size >= 0 && fi.Size() != size {
		return s.quarantine(d, fmt.Sprintf("size %d, expected %d", fi.Size(), size))
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("store: reading object %s: %w", d.Short(), err)
	}
	if got := digestFromHash(h); got != d {
		return s.quarantine(d, "its bytes hash to "+got.Short())
	}
	s.verified.Store(d, fi.Size())
	return nil
}

// ReadObject returns a verified object's bytes. It is meant for small
// objects (records, trees, reports).
func (s *Store) ReadObject(d Digest) ([]byte, error) {
	if err := s.Verify(d, -1); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(s.ObjectPath(d))
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// The file was verified, but it could have been replaced since; a
	// second check on the bytes in hand costs little for small objects.
	if DigestOf(b) != d {
		s.verified.Delete(d)
		return nil, s.quarantine(d, "changed while being read")
	}
	return b, nil
}

// quarantine moves a bad object out of objects/ so that it is recomputed,
// keeping it for inspection, and reports it.
func (s *Store) quarantine(d Digest, why string) error {
	s.verified.Delete(d)
	qdir := s.path(dirQuarantine)
	_ = os.MkdirAll(qdir, 0o755)
	dst := filepath.Join(qdir, fmt.Sprintf("%s-%s", time.Now().UTC().Format("20060102T150405.000000000"), d.Hex()))
	// Another process may quarantine the same object at the same time;
	// whichever rename loses finds nothing to move, which is fine.
	_ = os.Rename(s.ObjectPath(d), dst)
	err := &CorruptError{Digest: d, Why: why}
	s.warn("%v", err)
	return err
}
