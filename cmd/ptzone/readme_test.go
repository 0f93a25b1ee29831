package main

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// readmeSection returns the lines of README.md's section titled heading,
// up to the next section.
func readmeSection(t *testing.T, heading string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "## ") {
			in = line == "## "+heading
			continue
		}
		if in {
			out = append(out, line)
		}
	}
	if len(out) == 0 {
		t.Fatalf("README.md has no section %q", heading)
	}
	return out
}

// leafCommands returns the path of every command that runs, below c.
func leafCommands(c *command, prefix string) []string {
	if len(c.subs) == 0 {
		return []string{prefix}
	}
	var out []string
	for _, s := range c.subs {
		out = append(out, leafCommands(s, strings.TrimSpace(prefix+" "+s.name))...)
	}
	return out
}

// documentedCommands reads the commands a row of the README's command
// table names: its first code span, "ptzone db import ..." or, for
// several commands of one group, "ptzone keys list\|ds".
func documentedCommands(root *command, row string) ([]string, string) {
	_, rest, _ := strings.Cut(row, "`")
	span, _, ok := strings.Cut(rest, "`")
	if !ok {
		return nil, "the first cell has no `ptzone ...` code span"
	}
	words := strings.Fields(strings.ReplaceAll(span, `\|`, "|"))
	if len(words) < 2 || words[0] != "ptzone" {
		return nil, "the first cell does not begin with `ptzone COMMAND`"
	}
	node, path := root, []string{}
	for _, w := range words[1:] {
		if len(node.subs) == 0 {
			break
		}
		var found []*command
		for _, alt := range strings.Split(w, "|") {
			i := slices.IndexFunc(node.subs, func(s *command) bool { return s.name == alt })
			if i < 0 {
				return nil, "ptzone " + strings.Join(append(path, alt), " ") + " is not a command"
			}
			found = append(found, node.subs[i])
		}
		if len(found) > 1 {
			var out []string
			for _, f := range found {
				if len(f.subs) > 0 {
					return nil, f.name + " is a group: name its commands"
				}
				out = append(out, strings.Join(append(slices.Clone(path), f.name), " "))
			}
			return out, ""
		}
		node, path = found[0], append(path, found[0].name)
	}
	if len(node.subs) > 0 {
		return nil, "ptzone " + strings.Join(path, " ") + " is a group: name its commands"
	}
	return []string{strings.Join(path, " ")}, ""
}

// TestReadmeCommandTable: README.md's command table names every command
// the binary has, and no other.
func TestReadmeCommandTable(t *testing.T) {
	root := rootCommand()
	documented := map[string]bool{}
	for _, line := range readmeSection(t, "Commands") {
		if !strings.HasPrefix(line, "| `ptzone") {
			continue
		}
		paths, problem := documentedCommands(root, line)
		if problem != "" {
			t.Errorf("README.md command table: %s: %s", line, problem)
		}
		for _, p := range paths {
			documented[p] = true
		}
	}
	for _, leaf := range leafCommands(root, "") {
		if !documented[leaf] {
			t.Errorf("README.md's command table lacks ptzone %s", leaf)
		}
	}
}

// TestReadmeExitStatusTable: README.md's exit status table has a row for
// each status the commands use, saying what the code means by it, and
// no other.
func TestReadmeExitStatusTable(t *testing.T) {
	type meaning struct{ common, check string }
	rows := map[int]meaning{}
	for _, line := range readmeSection(t, "Exit status") {
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) != 3 {
			continue
		}
		status, err := strconv.Atoi(cells[0])
		if err != nil {
			continue
		}
		rows[status] = meaning{strings.ToLower(cells[1]), strings.ToLower(cells[2])}
	}
	want := []struct {
		status int
		check  bool // the check column, else the one of every other command
		says   string
	}{
		{exitOK, false, "success"},
		{exitNegative, false, "negative result"},
		{exitUsage, false, "usage error"},
		{exitInterrupted, false, "interrupted"},
		{checkPass, true, "no finding"},
		{checkWarnings, true, "warnings"},
		{checkErrors, true, "errors found"},
		{checkUnknown, true, "not checked"},
	}
	used := map[int]bool{}
	for _, w := range want {
		used[w.status] = true
		row, ok := rows[w.status]
		if !ok {
			t.Errorf("README.md's exit status table has no row for %d", w.status)
			continue
		}
		got, column := row.common, "every command"
		if w.check {
			got, column = row.check, "ptzone check"
		}
		if !strings.Contains(got, w.says) {
			t.Errorf("README.md's exit status %d, %s: %q does not say %q", w.status, column, got, w.says)
		}
	}
	for status := range rows {
		if !used[status] {
			t.Errorf("README.md's exit status table has a row for %d, which no command uses", status)
		}
	}
}
