package daemon

import (
	"fmt"
	"io"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// LogConfig is the log's section: how ptzone daemon and ptzone serve
// write their log to standard error.
type LogConfig struct {
	// Format is "json" (one object a line, for journald and log
	// shippers), "console" (aligned text for a person at a terminal), or
	// "auto" (the default): console when standard error is a terminal,
	// JSON otherwise, as under systemd.
	Format string `toml:"format"`
	// Level is the least severity written: "debug", "info" (the
	// default), "warn" or "error". SIGHUP puts a new level in force;
	// a new format needs a restart.
	Level string `toml:"level"`
}

var logLevels = map[string]zapcore.Level{"debug": zap.DebugLevel, "info": zap.InfoLevel, "warn": zap.WarnLevel, "error": zap.ErrorLevel}

// check refuses a format or level the logger does not know.
func (l LogConfig) check(bad func(string, ...any)) {
	switch strings.ToLower(l.Format) {
	case "", "auto", "json", "console":
	default:
		bad("log.format: %q: want auto, json or console", l.Format)
	}
	if _, ok := logLevels[strings.ToLower(l.Level)]; !ok && l.Level != "" {
		bad("log.level: %q: want debug, info, warn or error", l.Level)
	}
}

// ZapLevel is the configured level (info by default).
func (l LogConfig) ZapLevel() zapcore.Level {
	if lv, ok := logLevels[strings.ToLower(l.Level)]; ok {
		return lv
	}
	return zap.InfoLevel
}

// JSON reports whether the log is written as JSON, given whether its
// writer is a terminal.
func (l LogConfig) JSON(terminal bool) bool {
	switch strings.ToLower(l.Format) {
	case "json":
		return true
	case "console":
		return false
	default:
		return !terminal
	}
}

// NewLogger returns the log the configuration describes, written to w
// (terminal says whether w is one, for the "auto" format), and its level,
// which a reload may change while the log is in use.
func (l LogConfig) NewLogger(w io.Writer, terminal bool) (*zap.Logger, zap.AtomicLevel) {
	level := zap.NewAtomicLevelAt(l.ZapLevel())
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	var encoder zapcore.Encoder
	if l.JSON(terminal) {
		encoder = zapcore.NewJSONEncoder(enc)
	} else {
		encoder = zapcore.NewConsoleEncoder(enc)
	}
	return zap.New(zapcore.NewCore(encoder, zapcore.AddSync(w), level)), level
}

// String names the format and level, for a log line saying what is in
// force.
func (l LogConfig) String() string {
	format := strings.ToLower(l.Format)
	if format == "" {
		format = "auto"
	}
	return fmt.Sprintf("format %s, level %s", format, l.ZapLevel())
}
