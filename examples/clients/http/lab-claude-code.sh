#!/bin/sh
# Claude Code against the lab over HTTP. First, in another terminal:
#   portcullis serve --transport http --config examples/lab-http.toml --lab-backend
# The key below is the lab's published key for bob (an operator).
exec claude mcp add --transport http portcullis-lab http://127.0.0.1:8080/mcp \
  --header "Authorization: Bearer pcl_lab_bob_not_secret"
