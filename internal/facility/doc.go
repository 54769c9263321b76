// Package facility loads facility descriptions: YAML files that say what
// a Carnot installation is made of (sites, halls, racks, node groups, GPU
// models) and who uses it (tenants, cohorts, priority classes, policy).
//
// Load and LoadFile parse a file to its YAML syntax tree, so that every
// problem can name its file, line and field, check it as a whole and
// flatten it into a model.Facility: node-name ranges such as gpu[001-128]
// are expanded, NVLink domains and leaves are numbered, hall and rack IDs
// are qualified ("site/hall", "site/hall/rack"), and defaults are filled
// in. A file with problems yields Errors listing all of them, sorted by
// line; nothing is returned half-valid.
//
// Catalog is the built-in GPU catalog; a file's gpu_models section adds
// models or overrides fields of the built-in ones. docs/facility.md
// documents the schema.
package facility
