package dnssec

// WaitPresigned starts p and waits until it has signed everything offered.
func WaitPresigned(p *Presigner) {
	p.Start()
	<-p.done
}
