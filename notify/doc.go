// Package notify delivers the outbox: the notices the delegation gate
// queues, in the transaction of the check that calls for them, for a
// domain's technical contact and its registrar (Art 5c, 7 of the Rules),
// and for the registry's webhook when it has one. It sends the mails
// through the configured SMTP relay and POSTs the webhook's, claiming
// each for a lease so that notifiers sharing a database never send one
// twice at once, and keeps a notice that could not be sent for a later
// attempt: nothing is lost while the relay is down.
package notify
