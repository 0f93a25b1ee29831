// Package ptzone embeds the project's shared fixtures that the binary itself
// needs, such as the sample registry the demo loads. The code lives in the
// subpackages; docs/design.md is the map.
package ptzone
