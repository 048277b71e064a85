package main

import (
	"context"
	"io"

	"github.com/bulwark-go/bulwark/internal/stack"
)

func init() {
	register(command{
		name:    "down",
		summary: "stop the native stack and keep its data",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
			return runStackCommand(ctx, "down", args, stdout, stderr, stack.Down)
		},
	})
	register(command{
		name:    "clean",
		summary: "stop the native stack and remove its data and credentials",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
			return runStackCommand(ctx, "clean", args, stdout, stderr, stack.Clean)
		},
	})
}
