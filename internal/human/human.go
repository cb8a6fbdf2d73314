// Package human formats quantities for people the way every table,
// progress line and ping body of pgarchive writes them: sizes in binary
// units (Bytes), points in time (Time, "2026-12-01 16:43:38Z"), ages
// ("2 min ago", "3 days ago"), counts with their noun ("1 row", "2 rows"),
// rates and time left.
package human

import "fmt"

// Bytes formats n as "512 B", "1.5 KiB", "2.0 GiB".
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
