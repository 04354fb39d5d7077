#!/bin/sh
# Try Portcullis in Claude Code against the embedded lab (no infrastructure):
# the agent acts as bob, an operator.
exec claude mcp add --transport stdio portcullis-lab -- portcullis lab --as bob
