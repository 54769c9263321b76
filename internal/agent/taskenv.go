package agent

import (
	"maps"

	"github.com/carnot-dc/carnot/internal/api"
)

// Variables the agent sets in a task's environment for the task to call
// the server about its own job (carnot checkpoint with no flags).
const (
	tokenEnv = "CARNOT_TOKEN" // the job token of the task's attempt
	addrEnv  = "CARNOT_ADDR"  // the tenant API's address (Config.TaskServer)
	caEnv    = "CARNOT_CA"    // the CA to trust it with (Config.TaskCA)
)

// taskEnv is spec as the runtime starts it: its environment with what
// the task needs to call the server about its own job: $CARNOT_TOKEN,
// the job token the server handed for its attempt (the agent's own
// credentials never reach a task: taskBaseEnv), and $CARNOT_ADDR and
// $CARNOT_CA from Config.TaskServer and TaskCA (when unset, the
// variable is left as the agent's environment has it). The token is in
// the copy of the environment only, which nothing logs or keeps.
func (a *Agent) taskEnv(spec api.Task) api.Task {
	env := maps.Clone(spec.Env)
	if env == nil {
		env = map[string]string{}
	}
	if spec.Token != "" {
		env[tokenEnv] = spec.Token
	}
	if a.cfg.TaskServer != "" {
		env[addrEnv] = a.cfg.TaskServer
	}
	if a.cfg.TaskCA != "" {
		env[caEnv] = a.cfg.TaskCA
	}
	spec.Env = env
	return spec
}
