// Package daemon runs ptzone as a service: it owns the configuration
// file (its format, defaults and checks) and the lifecycle of what runs
// from it: the authoritative server and the web server, the jobs on their
// cron schedules (publish, checks, sweep, notify, prune), the publisher's
// lock, the operators' actions, and the drain on stop and the reload on
// SIGHUP. It follows whether the database answers (with backoff while it
// does not): the zones are served whatever its state, and the jobs that
// need it wait for it.
package daemon
