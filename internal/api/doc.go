// Package api holds the JSON types of Carnot's HTTP API under /v1, shared
// by the server, the node agent and the CLI's client, and the table of
// routes the server serves and openapi.json describes.
//
// Times are RFC 3339 in UTC. Errors are RFC 9457 problem documents
// (Problem). The agent's routes (/v1/agent/…) are part of the same API.
package api
