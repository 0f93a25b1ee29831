// Package httpapi owns ptzone's HTTP surfaces: the registrars' JSON API
// and web pages, where each registrar sees its own domains only (their
// delegation state, findings with evidence and article, history, and a
// re-check on request), and the operators' API (publish now, dry run,
// force, freeze and thaw a zone or every zone, status, the publication
// and audit logs), each operator action written to the audit log. Errors
// of the layers below become HTTP statuses here and nowhere else.
package httpapi
