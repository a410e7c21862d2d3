package cli

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/bitflow-dev/bitflow/runner/store"
)

const refHelp = `REF is STEP.OUTPUT (from the newest run that has a result for STEP, or
from --run RUN), optionally followed by /PATH for a file inside a directory
output, or an object digest sha256:HEX (a unique prefix of at least 8 hex
digits will do). Every object read is verified against its digest.`

func init() {
	register(&command{
		name:    "cat",
		args:    "REF",
		summary: "Print a step output or an object from the store.",
		help:    refHelp + "\n\nA directory output without /PATH prints its listing.",
		setup: func(c *ctx) func([]string) error {
			var run string
			c.fs.StringVar(&run, "run", "", "take STEP.OUTPUT from this run (ID prefix or latest)")
			return func(args []string) error {
				if len(args) != 1 {
					return usageErr("expected one REF")
				}
				st, err := c.openExistingStore()
				if err != nil {
					return err
				}
				ref, err := resolveRef(st, run, args[0])
				if err != nil {
					return err
				}
				if ref.out.Type == store.TypeTree && ref.sub == "" {
					t, err := st.ReadTree(ref.out.Digest)
					if err != nil {
						return storeErr(err)
					}
					for _, e := range t.Entries {
						if e.Type == "dir" {
							c.printf("%-40s dir\n", e.Path+"/")
						} else {
							c.printf("%-40s %10d  %s\n", e.Path, e.Size, e.Digest)
						}
					}
					return nil
				}
				o, err := ref.file(st)
				if err != nil {
					return err
				}
				b, err := st.ReadObject(o.Digest)
				if err != nil {
					return storeErr(err)
				}
				_, err = c.stdout.Write(b)
				return err
			}
		},
	})
	register(&command{
		name:    "export",
		args:    "REF...",
		summary: "Copy step outputs out of the store into ordinary files.",
		help: refHelp + `

With -o PATH (one REF), the output is written exactly there. With --to DIR,
each REF goes to DIR/STEP/OUTPUT. With --run and no REF, every output of
the run is exported to DIR/STEP/OUTPUT.`,
		setup: func(c *ctx) func([]string) error {
			var run, to, out string
			c.fs.StringVar(&run, "run", "", "take outputs from this run (ID prefix or latest)")
			c.fs.StringVar(&to, "to", "", "export into this directory as STEP/OUTPUT")
			c.fs.StringVarP(&out, "output", "o", "", "write the one REF to exactly this path")
			return func(args []string) error {
				st, err := c.openExistingStore()
				if err != nil {
					return err
				}
				return export(c, st, run, to, out, args)
			}
		},
	})
}

// outputRef is a resolved REF.
type outputRef struct {
	label string // STEP/OUTPUT or the digest
	out   store.Output
	sub   string // path inside a tree
}

// file returns the object a ref names: the output itself or a file in it.
func (r *outputRef) file(st *store.Store) (store.Output, error) {
	if r.sub == "" {
		return r.out, nil
	}
	if r.out.Type != store.TypeTree {
		return store.Output{}, usageErr("%s is a file, not a directory: no /%s inside it", r.label, r.sub)
	}
	t, err := st.ReadTree(r.out.Digest)
	if err != nil {
		return store.Output{}, storeErr(err)
	}
	for _, e := range t.Entries {
		if e.Path == r.sub && e.Type == "file" {
			return store.Output{Digest: e.Digest, Size: e.Size, Type: store.TypeFile}, nil
		}
	}
	return store.Output{}, usageErr("%s has no file %q (`bitflow cat %s` lists it)", r.label, r.sub, r.label)
}

func resolveRef(st *store.Store, run, ref string) (*outputRef, error) {
	if strings.HasPrefix(ref, "sha256:") {
		d, err := findObject(st, ref)
		if err != nil {
			return nil, err
		}
		return &outputRef{label: string(d), out: store.Output{Digest: d, Size: -1, Type: store.TypeFile}}, nil
	}
	stepOut, sub, _ := strings.Cut(ref, "/")
	stepName, outName, ok := strings.Cut(stepOut, ".")
	if !ok || stepName == "" || outName == "" {
		return nil, usageErr("REF %q: expected STEP.OUTPUT[/PATH] or sha256:HEX", ref)
	}
	ids, err := st.RunIDs()
	if err != nil {
		return nil, storeErr(err)
	}
	if run != "" {
		id, err := st.ResolveRun(run)
		if err != nil {
			return nil, usageErr("%v", err)
		}
		ids = []string{id}
	}
	for _, id := range ids {
		rec, err := st.ReadRun(id)
		if err != nil {
			continue
		}
		for _, s := range rec.Steps {
			if s.Name != stepName || len(s.Outputs) == 0 {
				continue
			}
			o, ok := s.Outputs[outName]
			if !ok {
				return nil, usageErr("step %s has no output %q in run %s", stepName, outName, id)
			}
			return &outputRef{label: stepName + "." + outName, out: o, sub: path.Clean("/" + sub)[1:]}, nil
		}
	}
	if run != "" {
		return nil, usageErr("run %s has no result for step %q", run, stepName)
	}
	return nil, usageErr("no run in %s has a result for step %q", st.Root(), stepName)
}

// findObject resolves a digest or a unique digest prefix.
func findObject(st *store.Store, ref string) (store.Digest, error) {
	hex := strings.ToLower(strings.TrimPrefix(ref, "sha256:"))
	if d := store.Digest("sha256:" + hex); d.Valid() {
		return d, nil
	}
	if len(hex) < 8 {
		return "", usageErr("digest prefix %q is too short (8 hex digits at least)", ref)
	}
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(st.ObjectPath(store.Digest("sha256:"+hex))), hex+"*"))
	switch len(matches) {
	case 0:
		return "", usageErr("no object %s in %s", ref, st.Root())
	case 1:
		return store.Digest("sha256:" + filepath.Base(matches[0])), nil
	}
	return "", usageErr("digest prefix %s is ambiguous (%d objects)", ref, len(matches))
}

func export(c *ctx, st *store.Store, run, to, out string, args []string) error {
	switch {
	case to == "" && out == "":
		return usageErr("say where: --to DIR or -o PATH")
	case to != "" && out != "":
		return usageErr("--to and -o exclude each other")
	case out != "" && len(args) != 1:
		return usageErr("-o takes exactly one REF")
	}
	var refs []*outputRef
	if len(args) == 0 {
		if run == "" {
			return usageErr("nothing to export: give REFs, or --run RUN for all its outputs")
		}
		id, err := st.ResolveRun(run)
		if err != nil {
			return usageErr("%v", err)
		}
		rec, err := st.ReadRun(id)
		if err != nil {
			return storeErr(err)
		}
		for _, s := range rec.Steps {
			for _, name := range sortedOutputNames(s.Outputs) {
				refs = append(refs, &outputRef{label: s.Name + "/" + name, out: s.Outputs[name]})
			}
		}
	}
	for _, a := range args {
		r, err := resolveRef(st, run, a)
		if err != nil {
			return err
		}
		r.label = strings.Replace(r.label, ".", "/", 1)
		refs = append(refs, r)
	}
	for _, r := range refs {
		o, err := r.file(st)
		if err != nil {
			return err
		}
		if r.sub == "" {
			o = r.out
		}
		if o.Size < 0 {
			if err := st.Verify(o.Digest, -1); err != nil {
				return storeErr(err)
			}
			fi, err := os.Stat(st.ObjectPath(o.Digest))
			if err != nil {
				return storeErr(err)
			}
			o.Size = fi.Size()
		}
		dst := out
		if dst == "" {
			dst = filepath.Join(to, filepath.FromSlash(strings.TrimPrefix(r.label, "sha256:")))
		}
		if _, err := os.Lstat(dst); err == nil {
			return usageErr("%s exists; not overwriting it", dst)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := st.Materialize(o, dst); err != nil {
			var ce *store.CorruptError
			if errors.As(err, &ce) || errors.Is(err, store.ErrMissing) {
				return storeErr(fmt.Errorf("%s: %w (rerun the workflow to recompute it)", r.label, err))
			}
			return err
		}
		c.log.Info().Str("to", dst).Msgf("exported %s", r.label)
	}
	return nil
}
