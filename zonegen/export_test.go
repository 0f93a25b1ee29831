package zonegen

// DamageListings replaces host's listings in a state with a packed block
// that does not decode, as only a writer's bug could make one.
func DamageListings(s *ZoneState, host string) {
	s.glue.hosts[host] = hostListings{packed: []byte{1, 0, 0, 0, 9, 0, 'a'}}
}
