package auth

import (
	"fmt"
	"regexp"
	"slices"
)

// Role is what a principal may do.
type Role string

// Roles.
const (
	OperatorAdmin Role = "operator-admin"
	Operator      Role = "operator"
	TenantAdmin   Role = "tenant-admin"
	Member        Role = "member"
	Viewer        Role = "viewer"
	Auditor       Role = "auditor"
	Join          Role = "join"
	Node          Role = "node"
	// Job is a task's job token (jobtoken.go): it reads its own job and
	// reports its checkpoints, while its attempt runs. No API token
	// carries it.
	Job Role = "job"
)

// TokenRoles are the roles an API token may carry (node identities come
// from certificates, job principals from job tokens, never from API
// tokens).
var TokenRoles = []Role{OperatorAdmin, Operator, TenantAdmin, Member, Viewer, Auditor, Join}

// TenantScoped reports whether the role needs a tenant.
func (r Role) TenantScoped() bool { return r == TenantAdmin || r == Member }

// MayHaveTenant reports whether the role may be limited to one tenant.
func (r Role) MayHaveTenant() bool { return r.TenantScoped() || r == Viewer || r == Auditor }

// name is a token name, tenant or site: what the facility file allows.
var name = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// CheckGrant says what is wrong with giving a token role r for tenant
// and site, or nil. Join tokens need a site and nothing else.
func CheckGrant(r Role, tenant, site string) error {
	bad := func(field, format string, args ...any) error {
		return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	if !slices.Contains(TokenRoles, r) {
		return bad("role", "role %q: want one of %v", r, TokenRoles)
	}
	switch {
	case r.TenantScoped() && tenant == "":
		return bad("tenant", "role %s needs a tenant", r)
	case tenant != "" && !r.MayHaveTenant():
		return bad("tenant", "role %s is facility-wide: it takes no tenant", r)
	case tenant != "" && !name.MatchString(tenant):
		return bad("tenant", "tenant %q: not a tenant name", tenant)
	case r == Join && site == "":
		return bad("site", "a join token needs a site")
	case r != Join && site != "":
		return bad("site", "only join tokens take a site")
	case site != "" && !name.MatchString(site):
		return bad("site", "site %q: not a site name", site)
	}
	return nil
}

// FieldError is a token request's problem with one of its fields (its
// JSON name): the API names it in the problem's errors.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Msg }

// ValidName reports whether s may name a token.
func ValidName(s string) bool { return name.MatchString(s) }
