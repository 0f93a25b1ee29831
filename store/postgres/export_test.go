package postgres

import "time"

// ConnectTimeoutOf is the bound of each connection attempt of db's pool.
func ConnectTimeoutOf(db *DB) time.Duration { return db.pool.Config().ConnConfig.ConnectTimeout }
