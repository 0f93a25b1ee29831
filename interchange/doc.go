// Package interchange reads and writes the registry interchange format:
// JSON Lines, one domain a line, as docs/commands.md describes it. It owns
// the format (field names, order, encodings), positioned errors that name
// the file, line and field, and the validation an import runs before
// anything is written: structure (store), the Rules (policy) and
// duplicate names.
package interchange
