package datadir

import (
	"fmt"
	"io"

	"github.com/ptzone/ptzone/internal/atomicfile"
	"github.com/ptzone/ptzone/zone"
)

// Adopt makes z the published version of zone name: the zone taken over
// from the signer that served it before ptzone, served as it came until
// ptzone's first publication of it, which goes on from it. An earlier
// publication's state and journal are dropped (their serials belong to
// another history, and the next publication must build the zone in
// full); its image is kept as the previous image, as any flush keeps it.
// The state goes first, then the journal is emptied, then the image is
// put in place: a crash between two steps leaves the zone as it was
// published before, never a journal of one history over the image of
// another.
func (d Dir) Adopt(name string, z *zone.Zone) error {
	if err := d.Prepare(); err != nil {
		return fmt.Errorf("adopting %s: %w", name, err)
	}
	if err := d.RemoveState(name); err != nil {
		return fmt.Errorf("adopting %s: %w", name, err)
	}
	if err := atomicfile.Write(d.journalFile(name), 0o644, func(io.Writer) error { return nil }); err != nil {
		return fmt.Errorf("adopting %s: emptying its journal: %w", name, err)
	}
	return d.writeImage(name, z)
}
