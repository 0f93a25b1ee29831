package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Exit codes shared by every subcommand.
const (
	exitOK       = 0 // success; for checks: everything passed
	exitNegative = 1 // a negative result (an invalid name) or a failure (database unreachable)
	exitUsage    = 2 // usage error or bad input (a bad flag, a bad import file)
	// exitInterrupted: stopped by Ctrl-C or SIGTERM before it finished
	// (128 + SIGINT's number, as shells report it); nothing half-written.
	exitInterrupted = 130
)

const exitCodesHelp = `Exit status:
  0  success (for checks: everything valid)
  1  negative result, or the operation failed (e.g. the database is unreachable)
  2  usage error or bad input (unknown flag, malformed file)`

// exitError carries an exit code up to main.
type exitError struct {
	code int
	err  error // nil when the output already said everything
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageErrorf reports a usage error: exit 2, with a hint to --help.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: &usageError{msg: fmt.Sprintf(format, args...)}}
}

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// inputError marks bad input: exit 2.
func inputError(err error) error { return &exitError{code: exitUsage, err: err} }

// negative is a negative result already reported on the output: exit 1.
var negative = &exitError{code: exitNegative}

// env is what a command may touch of the outside world; tests give their own.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// command is one node of the command tree: a group (subs) or a leaf (run).
type command struct {
	name     string
	synopsis string // arguments after the flags, e.g. "[flags] NAME..."
	summary  string // one line, shown in the parent's list
	help     string // paragraphs shown by --help
	flags    func(*flag.FlagSet)
	run      func(ctx context.Context, e *env, args []string) error
	subs     []*command
	// usageCode, when set, is the exit status of a usage error (a bad
	// flag) instead of exitUsage, and exitHelp the exit statuses its
	// --help lists instead of exitCodesHelp: ptzone check grades its
	// verdict as monitoring plugins do.
	usageCode int
	exitHelp  string
}

// execute finds the subcommand named by args, parses its flags and runs it.
func (c *command) execute(ctx context.Context, e *env, path []string, args []string) error {
	path = append(path, c.name)
	// Messages name the command without the program, which exitCode adds.
	where := strings.Join(path[1:], " ")
	if where != "" {
		where += ": "
	}
	if len(c.subs) > 0 {
		if len(args) == 0 {
			c.usage(e.stderr, path)
			return &exitError{code: exitUsage}
		}
		switch args[0] {
		case "-h", "-help", "--help", "help":
			c.usage(e.stdout, path)
			return nil
		}
		for _, s := range c.subs {
			if s.name == args[0] {
				return s.execute(ctx, e, path, args[1:])
			}
		}
		return usageErrorf("%sunknown command %q (see '%s --help')", where, args[0], strings.Join(path, " "))
	}

	fs := flag.NewFlagSet(strings.Join(path, " "), flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if c.flags != nil {
		c.flags(fs)
	}
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		c.usage(e.stdout, path)
		return nil
	}
	if err != nil {
		uerr := usageErrorf("%s%v (see '%s --help')", where, err, strings.Join(path, " "))
		if c.usageCode != 0 {
			uerr.(*exitError).code = c.usageCode
		}
		return uerr
	}
	return c.run(ctx, e, pos)
}

// parseInterspersed parses flags wherever they stand among the arguments
// ("names check x --json y"); everything after "--" is an argument.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var tail []string
	for i, a := range args {
		if a == "--" {
			args, tail = args[:i], args[i+1:]
			break
		}
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return append(pos, tail...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func (c *command) usage(w io.Writer, path []string) {
	name := strings.Join(path, " ")
	if len(c.subs) > 0 {
		fmt.Fprintf(w, "Usage: %s COMMAND [flags] [args]\n\n", name)
	} else {
		fmt.Fprintf(w, "Usage: %s %s\n\n", name, c.synopsis)
	}
	if c.help != "" {
		fmt.Fprintf(w, "%s\n\n", strings.TrimSpace(c.help))
	} else if c.summary != "" {
		fmt.Fprintf(w, "%s.\n\n", c.summary)
	}
	if len(c.subs) > 0 {
		fmt.Fprintln(w, "Commands:")
		for _, s := range c.subs {
			fmt.Fprintf(w, "  %-12s %s\n", s.name, s.summary)
		}
		fmt.Fprintf(w, "\nRun '%s COMMAND --help' for a command's flags.\n", name)
		return
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	if c.flags != nil {
		c.flags(fs)
	}
	printFlags(w, fs)
	exits := exitCodesHelp
	if c.exitHelp != "" {
		exits = c.exitHelp
	}
	fmt.Fprintf(w, "\n%s\n", exits)
}

// printFlags lists flags GNU-style ("--zone Z"); the flag package accepts
// one or two dashes alike.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	var lines [][2]string
	fs.VisitAll(func(f *flag.Flag) {
		arg, help := flag.UnquoteUsage(f)
		left := "--" + f.Name
		if arg != "" {
			left += " " + arg
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			help += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		lines = append(lines, [2]string{left, help})
	})
	if len(lines) == 0 {
		return
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i][0] < lines[j][0] })
	width := 0
	for _, l := range lines {
		width = max(width, len(l[0]))
	}
	fmt.Fprintln(w, "Flags:")
	for _, l := range lines {
		fmt.Fprintf(w, "  %-*s  %s\n", width, l[0], l[1])
	}
}

// exitCode turns a command's error into the process exit status, printing
// what the user needs to see.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "ptzone:", ee.err)
		}
		return ee.code
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "ptzone: interrupted")
		return exitInterrupted
	}
	fmt.Fprintln(stderr, "ptzone:", err)
	return exitNegative
}

// getenvOr returns the environment variable, or def when it is unset.
func (e *env) getenvOr(key, def string) string {
	if v := e.getenv(key); v != "" {
		return v
	}
	return def
}

func defaultEnv() *env {
	return &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
}
