// Package atomicfile replaces files atomically: the content goes to a
// temporary file in the target's directory, which is synced, given its
// mode and renamed over the target, and the directory is synced. A crash
// or an error leaves the old file or the new one, never a part of either.
package atomicfile
