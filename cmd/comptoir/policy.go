package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"time"

	"comptoir/internal/config"
	"comptoir/internal/policy"
)

// policyUsage is one line, as every usage error is (API.md).
const policyUsage = "usage: comptoir policy check FILE | comptoir policy eval --facts F [--policy FILE] [--at RFC3339]"

// policy runs "comptoir policy …". Neither subcommand touches the
// database: a policy and its decisions can be tried on any machine.
func (e *cmdEnv) policy(args []string) error {
	if len(args) == 0 {
		return config.Usagef("%s", policyUsage)
	}
	switch args[0] {
	case "check":
		return e.policyCheck(args[1:])
	case "eval":
		return e.policyEval(args[1:])
	case "-h", "--help", "help":
		fmt.Fprintln(e.stdout, policyUsage)
		return nil
	}
	return config.Usagef("unknown policy command %q; %s", args[0], policyUsage)
}

// parseArgs is e.parse for commands that take positional arguments.
func (e *cmdEnv) parseArgs(fs *flag.FlagSet, cfg *config.Config, args []string) ([]string, error) {
	if err := e.parseFlags(fs, args); err != nil {
		return nil, err
	}
	if err := config.ApplyEnv(fs, e.getenv); err != nil {
		return nil, err
	}
	return fs.Args(), cfg.Resolve()
}

// policyCheck validates a document: errors exit 2 with line and key;
// warnings go to stderr and the exit code stays 0, because a policy that
// promises less than the law is still applied (with the law on top).
func (e *cmdEnv) policyCheck(args []string) error {
	fs, cfg := e.flags("policy check")
	rest, err := e.parseArgs(fs, cfg, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return config.Usagef("usage: comptoir policy check FILE")
	}
	p, err := readPolicy(rest[0])
	if err != nil {
		return err
	}
	for _, w := range policy.Check(p) {
		fmt.Fprintf(e.stderr, "comptoir: warning: %s: %s\n", rest[0], w)
	}
	fmt.Fprintf(e.stdout, "ok: %s\n", p.ID())
	return nil
}

// maxInputFile bounds what policy check and policy eval read: policy.Parse
// and policy.DecodeFacts refuse more than 1 MiB anyway, and reading no
// further keeps a file that never ends (/dev/zero) from exhausting memory.
const maxInputFile = 1 << 20

func readPolicy(path string) (*policy.Policy, error) {
	data, err := config.ReadFile(path, maxInputFile)
	if err != nil {
		return nil, config.Usagef("%v", err)
	}
	p, err := policy.Parse(data)
	if err != nil {
		return nil, config.Usagef("%s: %v", path, err)
	}
	return p, nil
}

// policyEval prints the decision for a facts file, exactly as the server
// would decide it.
func (e *cmdEnv) policyEval(args []string) error {
	fs, cfg := e.flags("policy eval")
	factsPath := fs.String("facts", "", "JSON file with the claim's facts (required; see API.md)")
	policyPath := fs.String("policy", "", "policy document (default: the built-in default@1)")
	at := fs.String("at", "", "the moment of the evaluation, RFC 3339 (default: the facts' filed_at)")
	if err := e.parse(fs, cfg, args); err != nil {
		return err
	}
	if *factsPath == "" {
		return config.Usagef("policy eval needs --facts FILE")
	}
	p := policy.Default()
	if *policyPath != "" {
		var err error
		if p, err = readPolicy(*policyPath); err != nil {
			if !strings.HasPrefix(err.Error(), *policyPath+": ") {
				// A file that cannot be read said only "open x.toml: no
				// such file or directory", naming no flag, as --facts does.
				err = config.Usagef("--policy: %v", err)
			}
			return err
		}
	}
	data, err := config.ReadFile(*factsPath, maxInputFile)
	if err != nil {
		return config.Usagef("--facts: %v", err)
	}
	facts, err := policy.DecodeFacts(data)
	if err != nil {
		return config.Usagef("%s: %v", *factsPath, err)
	}
	now := facts.FiledAt
	if *at != "" {
		if now, err = policy.ParseTime(*at); err != nil {
			return config.Usagef("--at: %v", err)
		}
		if now.Before(facts.FiledAt) {
			return config.Usagef("--at: %s is before the facts' filed_at (%s); a claim is not decided before it is filed",
				*at, facts.FiledAt.Format(time.RFC3339Nano))
		}
	}
	d := policy.Evaluate(p, facts, now)
	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}
