package cli

import (
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/bitflow-dev/bitflow/model"
	"github.com/bitflow-dev/bitflow/model/tokenizer"
	"github.com/bitflow-dev/bitflow/runner/store"
	"github.com/bitflow-dev/bitflow/steps/teacher"
)

func init() {
	register(&command{
		name:    "serve",
		args:    "CHECKPOINT --tokenizer FILE",
		summary: "Serve a checkpoint over an OpenAI-compatible HTTP API on loopback.",
		help: `Serves GET /v1/models, POST /v1/chat/completions and POST /v1/completions,
with logprobs and top_logprobs in OpenAI's response shapes, so any OpenAI
client (or a workflow step with provider: openai) can use a bitflow model as
its teacher.

CHECKPOINT and FILE are paths, or outputs in the store: STEP.OUTPUT (from the
newest run that has it) or sha256:HEX. The server listens on 127.0.0.1 unless
--allow-remote is given, and stops cleanly on Ctrl-C.

Example:
  bitflow serve teacher.checkpoint --tokenizer teacher_tokenizer.tokenizer --addr 127.0.0.1:8080
  curl -s 127.0.0.1:8080/v1/chat/completions -d '{"model":"teacher","messages":[{"role":"user","content":"Record user 1: name Ada"}],"logprobs":true,"top_logprobs":5}'`,
		setup: func(c *ctx) func([]string) error {
			var tokRef, addr, name string
			var packed, remote bool
			var conc int
			c.fs.StringVar(&tokRef, "tokenizer", "", "the model's tokenizer.json (path, STEP.OUTPUT or sha256:HEX)")
			c.fs.StringVar(&addr, "addr", teacher.DefaultAddr, "listen address")
			c.fs.StringVar(&name, "model", "", "model name clients send (default: the checkpoint's file name)")
			c.fs.BoolVar(&packed, "packed", false, "serve ternary layers on the packed 2-bit path")
			c.fs.IntVar(&conc, "concurrency", 2, "generations running at once")
			c.fs.BoolVar(&remote, "allow-remote", false, "listen on non-loopback addresses (no authentication!)")
			return func(args []string) error {
				if len(args) != 1 || tokRef == "" {
					return usageErr("expected CHECKPOINT and --tokenizer FILE")
				}
				ckpt, err := c.localPath(args[0])
				if err != nil {
					return err
				}
				tokPath, err := c.localPath(tokRef)
				if err != nil {
					return err
				}
				m, _, err := model.LoadCheckpoint(ckpt)
				if err != nil {
					return usageErr("checkpoint %s: %v", args[0], err)
				}
				tok, err := tokenizer.ReadFile(tokPath)
				if err != nil {
					return usageErr("tokenizer %s: %v", tokRef, err)
				}
				if name == "" {
					name = filepath.Base(args[0])
				}
				local, err := teacher.NewLocal(m, tok, teacher.LocalOptions{Name: name, Concurrency: conc, Packed: packed})
				if err != nil {
					return usageErr("%v", err)
				}
				ctx, stop := signal.NotifyContext(c, os.Interrupt, syscall.SIGTERM)
				defer stop()
				opts := teacher.ServerOptions{AllowRemote: remote, OnListen: func(a net.Addr) {
					c.log.Info().Str("addr", "http://"+a.String()+"/v1").Str("model", name).Msg("serving")
				}}
				err = teacher.Serve(ctx, addr, teacher.NewServer(local, name, opts), opts)
				if err != nil {
					return usageErr("%v", err)
				}
				c.log.Info().Msg("stopped")
				return nil
			}
		},
	})
}

// localPath turns a CLI reference into a readable file: an existing path as
// it is, otherwise a verified object of the store (STEP.OUTPUT or sha256:).
func (c *ctx) localPath(ref string) (string, error) {
	if _, err := os.Stat(ref); err == nil {
		return ref, nil
	}
	st, err := c.openExistingStore()
	if err != nil {
		return "", err
	}
	r, err := resolveRef(st, "", ref)
	if err != nil {
		return "", err
	}
	o, err := r.file(st)
	if err != nil {
		return "", err
	}
	if o.Type == store.TypeTree {
		return "", usageErr("%s is a directory output", ref)
	}
	if err := st.Verify(o.Digest, o.Size); err != nil {
		return "", storeErr(err)
	}
	return st.ObjectPath(o.Digest), nil
}
