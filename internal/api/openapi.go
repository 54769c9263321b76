package api

import _ "embed" // for OpenAPI

// OpenAPI is openapi.json: the OpenAPI 3.1 document of every route of
// Routes, with a schema for each type of this package and for the job
// spec that POST /v1/jobs takes. The server serves it at GET
// /v1/openapi.json. It is written by hand; openapi_test.go checks it
// against Routes and against the types' JSON fields, so a route or a
// field added without documenting it fails the tests.
//
//go:embed openapi.json
var OpenAPI []byte
