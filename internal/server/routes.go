package server

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/auth"
)

// handlers maps each operation of api.Routes to its handler; listener
// names the listener ("operator" or "tenant").
func (s *Server) handlers(listener string) map[string]http.HandlerFunc {
	metrics := promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
	return map[string]http.HandlerFunc{
		"health": func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) },
		"ready":  s.handleReady,
		"metrics": func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			s.observe()
			s.mu.Unlock()
			metrics.ServeHTTP(w, r)
		},
		"openapi": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(api.OpenAPI)
		},
		"whoami":           s.handleWhoAmI(listener),
		"createToken":      s.handleCreateToken,
		"listTokens":       s.handleListTokens,
		"revokeToken":      s.handleRevokeToken,
		"listSecrets":      s.handleListSecrets,
		"putSecret":        s.handlePutSecret,
		"deleteSecret":     s.handleDeleteSecret,
		"agentEnroll":      s.handleEnroll,
		"submitJob":        s.handleSubmit(false),
		"listJobs":         s.handleList(""),
		"getJob":           s.handleGet(""),
		"cancelJob":        s.handleCancel,
		"jobLogs":          s.handleLogs,
		"jobEvents":        s.handleJobEvents,
		"whyJob":           s.handleWhy,
		"checkpointJob":    s.handleCheckpoint,
		"submitDeployment": s.handleSubmit(true),
		"listDeployments":  s.handleList("deployment"),
		"getDeployment":    s.handleGet("deployment"),
		"listNodes":        s.handleNodes,
		"getNode":          s.handleNode,
		"drainNode":        s.handleDrain(true),
		"undrainNode":      s.handleDrain(false),
		"fenceNode":        s.handleFence(true),
		"unfenceNode":      s.handleFence(false),
		"forgetNode":       s.handleForgetNode,
		"reenrollNode":     s.handleReenrollNode,
		"revokeNode":       s.handleRevokeNode,
		"listSites":        s.handleSites,
		"listTenants":      s.handleTenants,
		"usage":            s.handleUsage,
		"lastPlan":         s.handlePlan,
		"listEvents":       s.handleEvents,
		"watch":            s.handleWatch,
		"auditCheckpoint":  s.handleAuditCheckpoint,
		"auditExport":      s.handleAuditExport,
		"auditEntries":     s.handleAuditEntries,
		"auditConsistency": s.handleAuditConsistency,
		"agentRegister":    s.handleRegister,
		"agentHeartbeat":   s.handleHeartbeat,
		"agentAssignments": s.handleAssignments,
	}
}

// routes registers exactly api.Routes (on the tenant listener, all but
// the operator-only ones), each behind s.guard; anything else is a
// problem 404.
func (s *Server) routes(operator bool) *http.ServeMux {
	mux := http.NewServeMux()
	listener := "tenant"
	if operator {
		listener = "operator"
	}
	hs := s.handlers(listener)
	for _, rt := range api.Routes {
		h, ok := hs[rt.Op]
		if !ok {
			panic(fmt.Sprintf("server: no handler for %s %s (%s)", rt.Method, rt.Path, rt.Op))
		}
		op := rt.Op
		h = knownQuery(op, h)
		if !operator && auth.AdminOnly(rt.Op) {
			// Every authenticated caller gets the same 404, whatever its
			// role: "health" is of class auth.Authenticated.
			op = "health"
			h = func(w http.ResponseWriter, r *http.Request) {
				problemf(w, http.StatusNotFound, "%s %s is served on the operator listener only", r.Method, r.URL.Path)
			}
		}
		mux.HandleFunc(rt.Method+" "+rt.Path, s.guard(op, h))
	}
	// A path of the API with another method is a 405 with the methods
	// it takes; anything else a 404.
	paths := http.NewServeMux()
	allowed := map[string][]string{}
	for _, rt := range api.Routes {
		if allowed[rt.Path] == nil {
			paths.HandleFunc(rt.Path, func(http.ResponseWriter, *http.Request) {})
		}
		allowed[rt.Path] = append(allowed[rt.Path], rt.Method)
		if rt.Method == http.MethodGet { // the mux answers HEAD with GET's handler
			allowed[rt.Path] = append(allowed[rt.Path], http.MethodHead)
		}
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := paths.Handler(r); pattern != "" {
			w.Header().Set("Allow", strings.Join(allowed[pattern], ", "))
			problemf(w, http.StatusMethodNotAllowed, "%s %s: the path takes %s", r.Method, r.URL.Path, strings.Join(allowed[pattern], ", "))
			return
		}
		problemf(w, http.StatusNotFound, "no route %s %s; see /v1/openapi.json", r.Method, r.URL.Path)
	})
	return mux
}

func (s *Server) handleReady(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	ready, failed, stopped := s.ready, s.failed, s.stopped
	s.mu.Unlock()
	switch {
	case failed != nil:
		problemf(w, http.StatusServiceUnavailable, "a commit failed; the state is being reloaded from the store: %v", failed)
	case stopped:
		problemf(w, http.StatusServiceUnavailable, "the server is stopping")
	case !ready:
		problemf(w, http.StatusServiceUnavailable, "the scheduler loop is not running yet")
	default:
		writeJSON(w, 200, map[string]string{"status": "ready"})
	}
}
