// Package place is the placement half of the scheduling core: a mutable,
// cloneable view of the facility's free capacity (Cluster) and the search
// that puts a replica or a gang on nodes (Find).
//
// Filters decide whether a node may take a replica at all (node state,
// GPU model, sovereignty, dirty GPUs, exclusivity, power headroom,
// reservations); each lives in its own small function with a name used in
// reasons. Placement then packs a gang into the smallest enclosing
// topology group, NVLink domain → leaf → rack → hall → site, choosing the
// group that fits most tightly (best fit) to limit fragmentation.
//
// Single replicas use per-pool free-count buckets (bitsets over nodes) so
// best fit costs a few word scans instead of a pass over every node.
package place
