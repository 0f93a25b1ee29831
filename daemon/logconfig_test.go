package daemon

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"go.uber.org/zap"
)

// TestLogConfigRefusesUnknownValues: a format or level the logger does
// not know is refused with the setting named, as ptzone config check
// reports it.
func TestLogConfigRefusesUnknownValues(t *testing.T) {
	_, err := ParseConfig("bad.toml", "[log]\nformat = \"xml\"\nlevel = \"verbose\"\n")
	for _, want := range []string{`bad.toml:2: log.format: "xml"`, `bad.toml:3: log.level`, `log.format: "xml": want auto, json or console`, `log.level: "verbose": want debug, info, warn or error`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	for _, good := range []string{"", "[log]\nformat = \"JSON\"\nlevel = \"Warn\"\n", "[log]\nformat = \"console\"\nlevel = \"debug\"\n"} {
		if _, err := ParseConfig("good.toml", good); err != nil {
			t.Errorf("%q refused: %v", good, err)
		}
	}
}

// TestLogFormats: json writes one JSON object a line, console text;
// auto is console on a terminal and JSON elsewhere (under systemd).
func TestLogFormats(t *testing.T) {
	for _, c := range []struct {
		format   string
		terminal bool
		json     bool
	}{
		{"json", true, true}, {"console", false, false}, {"", true, false}, {"auto", false, true}, {"", false, true},
	} {
		var buf bytes.Buffer
		log, _ := LogConfig{Format: c.format}.NewLogger(&buf, c.terminal)
		log.Named("dns").Info("serving DNS", zap.String("address", "127.0.0.1:53"))
		var obj map[string]any
		isJSON := json.Unmarshal(buf.Bytes(), &obj) == nil
		if isJSON != c.json {
			t.Errorf("format %q, terminal %v: JSON %v, want %v: %s", c.format, c.terminal, isJSON, c.json, buf.String())
			continue
		}
		if isJSON && (obj["msg"] != "serving DNS" || obj["level"] != "info" || obj["logger"] != "dns" ||
			obj["address"] != "127.0.0.1:53" || obj["ts"] == nil) {
			t.Errorf("format %q: %v", c.format, obj)
		}
		if !isJSON && !strings.Contains(buf.String(), "\tinfo\tdns\tserving DNS\t{\"address\": \"127.0.0.1:53\"}") {
			t.Errorf("format %q: %q", c.format, buf.String())
		}
	}
}

// TestLogLevel: lines below the level are not written; the level
// returned changes what the logger already handed out writes.
func TestLogLevel(t *testing.T) {
	var buf bytes.Buffer
	log, level := LogConfig{Format: "json", Level: "warn"}.NewLogger(&buf, false)
	log.Info("hidden")
	log.Warn("shown")
	if strings.Contains(buf.String(), "hidden") || !strings.Contains(buf.String(), "shown") {
		t.Errorf("at warn: %s", buf.String())
	}
	level.SetLevel(LogConfig{Level: "debug"}.ZapLevel())
	log.Debug("now shown")
	if !strings.Contains(buf.String(), "now shown") {
		t.Errorf("after the level changed to debug: %s", buf.String())
	}
	if got := (LogConfig{}).String(); got != "format auto, level info" {
		t.Errorf("the defaults: %s", got)
	}
}
