package archive

import "github.com/pgarchive/pgarchive/internal/target"

// lockedBody is the manifest body for target t: body as it is, or, where
// t locks what it stores, the manifest with that lock recorded. Targets
// may lock differently, so each gets its own body then.
func lockedBody(m *Manifest, body []byte, t *target.Target) []byte {
	l, ok := t.Lock()
	if !ok {
		return body
	}
	mc := *m
	mc.Lock = &l
	return mc.Marshal()
}
