#!/bin/sh
# Claude Code over stdio, user scope. `claude mcp add` writes the command
# and the variables given with --env into ~/.claude.json: PVE_TOKEN_SECRET
# is therefore not passed here; portcullis reads it from the environment
# Claude Code starts it in (or use token_secret_file in portcullis.toml).
exec claude mcp add --scope user --transport stdio portcullis -- \
  /usr/local/bin/portcullis serve --config /etc/portcullis/portcullis.toml
