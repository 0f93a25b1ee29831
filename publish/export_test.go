package publish

// WaitPresigned makes p's signings wait until every DS RRset offered is
// presigned.
func WaitPresigned(p *Publisher) { p.waitPresigned = true }
