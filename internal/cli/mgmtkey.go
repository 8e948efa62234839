package cli

import (
	"cmp"
	"errors"
	"os"
	"slices"

	"github.com/spf13/pflag"

	"github.com/wsgate/wsgate/internal/config"
)

// Environment variables holding the management key pair of `wsgate serve` (and the one the
// management commands sign with).
const (
	envAccessKeyID     = "WSGATE_ACCESS_KEY_ID"
	envSecretAccessKey = "WSGATE_SECRET_ACCESS_KEY"
)

// mgmtKeyFlags are serve's --access-key-id and --secret-access-key.
type mgmtKeyFlags struct {
	accessKeyID, secretAccessKey string
}

func addMgmtKeyFlags(fs *pflag.FlagSet) *mgmtKeyFlags {
	f := &mgmtKeyFlags{}
	fs.StringVar(&f.accessKeyID, "access-key-id", "", "management API access key `ID` callers sign with (default $"+envAccessKeyID+"; added to management.credentials)")
	fs.StringVar(&f.secretAccessKey, "secret-access-key", "", "its secret access `KEY` (default $"+envSecretAccessKey+")")
	return f
}

// key is the management key pair given to serve: each half from its flag, else from its
// environment variable. ok is false when neither half is given anywhere; a half without the
// other is an error naming both places for the missing one.
func (f *mgmtKeyFlags) key() (c config.Credential, ok bool, err error) {
	c.AccessKeyID = cmp.Or(f.accessKeyID, os.Getenv(envAccessKeyID))
	c.SecretAccessKey = cmp.Or(f.secretAccessKey, os.Getenv(envSecretAccessKey))
	switch {
	case c.AccessKeyID == "" && c.SecretAccessKey == "":
		return c, false, nil
	case c.AccessKeyID == "":
		return c, false, errors.New("a management secret access key is given without its key id: set --access-key-id or " + envAccessKeyID)
	case c.SecretAccessKey == "":
		return c, false, errors.New("a management access key id is given without its secret: set --secret-access-key or " + envSecretAccessKey)
	}
	return c, true, nil
}

// apply puts the key pair given to serve first in cfg's management.credentials: it replaces
// an entry with the same key id (the flag or variable wins over the file) and otherwise is
// added to the file's keys, which stay valid. First, it is also the key the functions wsgate
// runs sign with.
func (f *mgmtKeyFlags) apply(cfg *config.Config) error {
	c, ok, err := f.key()
	if !ok {
		return err
	}
	creds := slices.DeleteFunc(slices.Clone(cfg.Management.Credentials), func(k config.Credential) bool {
		return k.AccessKeyID == c.AccessKeyID
	})
	cfg.Management.Credentials = append([]config.Credential{c}, creds...)
	return nil
}
