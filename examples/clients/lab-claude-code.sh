#!/bin/sh
# Try Portcullis in Claude Code against the embedded lab (no infrastructure):
# the agent acts as bob, an operator. The lab's audit log goes to
# ~/.local/state/portcullis/lab-audit.jsonl.
exec claude mcp add --transport stdio portcullis-lab -- /usr/local/bin/portcullis lab --as bob
