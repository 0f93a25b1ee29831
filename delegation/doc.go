// Package delegation checks a domain's delegation against the .PT
// Registration Rules: its name servers answer authoritatively (Art 1.1,
// 4.2), over UDP and TCP, consistently with the delegation and with each
// other, and redundantly (Art 1.2). It owns the findings catalogue, whose
// messages registrars and technical contacts read (Art 5c), the probes
// that produce findings, the sweeps that check every active domain, and
// the gate's lifecycle that turns checks into delegation state and
// notices (Art 4.2, 23.2).
package delegation
