package job

import (
	"github.com/pgarchive/pgarchive/internal/config"
	"github.com/pgarchive/pgarchive/internal/crypt"
	"github.com/pgarchive/pgarchive/internal/target"
)

// CheckConfig makes the checks config cannot make alone, the ones
// check-config makes after parsing: recipients parse, backends are
// compiled in and know their options. No file is read, no network used.
func CheckConfig(cfg *config.Config) error {
	if err := crypt.CheckConfig(cfg.Encryption); err != nil {
		return &config.Error{Msg: err.Error()}
	}
	for _, name := range cfg.TargetNames() {
		if err := target.Check(name, cfg.Targets[name]); err != nil {
			return err
		}
	}
	return nil
}
