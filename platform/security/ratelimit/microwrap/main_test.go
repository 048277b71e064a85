package microwrap

import (
	"flag"
	"io"
	"log/slog"
	"os"
	"testing"

	"go-micro.dev/v4/logger"
)

// TestMain silences go-micro's logger and the default slog logger unless
// the tests run with -v, so benchmark output stays parseable.
func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Verbose() {
		// go-micro's default logger ignores WithOutput, so raise its level.
		logger.DefaultLogger = logger.NewLogger(logger.WithLevel(logger.ErrorLevel))
		slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	os.Exit(m.Run())
}
