#!/bin/sh
# Claude Code against a shared Portcullis over Streamable HTTP with an API
# key (from `portcullis api-key --for NAME`). `claude mcp add --header`
# writes the header, key and all, into ~/.claude.json (mode 0600): the key
# is on disk there. To keep it out of every file, use claude-code-mcp.json
# instead (a project's .mcp.json; Claude Code expands ${PORTCULLIS_API_KEY}
# from its environment when it starts the server), or OAuth (below).
: "${PORTCULLIS_API_KEY:?set PORTCULLIS_API_KEY}"
exec claude mcp add --transport http portcullis https://mcp.example.org:8443/mcp \
  --header "Authorization: Bearer ${PORTCULLIS_API_KEY}"
# With [http.oauth] configured, leave out --header: Claude Code follows the
# 401's resource_metadata pointer to the identity provider and signs in, and
# keeps the tokens in its own credential store.
