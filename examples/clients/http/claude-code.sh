#!/bin/sh
# Claude Code against a shared Portcullis over Streamable HTTP with an API key
# (from `portcullis api-key --for NAME`), kept in the environment, not here.
: "${PORTCULLIS_API_KEY:?set PORTCULLIS_API_KEY}"
exec claude mcp add --transport http portcullis https://mcp.example.org:8443/mcp \
  --header "Authorization: Bearer ${PORTCULLIS_API_KEY}"
# With [http.oauth] configured, leave out --header: Claude Code follows the
# 401's resource_metadata pointer to the identity provider and signs in.
