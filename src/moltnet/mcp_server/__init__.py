"""The MCP edge: the same services, authorization and errors as the REST API (STYLE.md §1)."""
