package cli

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version, Commit and Date are stamped at build time (goreleaser does it; see .goreleaser.yaml):
//
//	go build -ldflags "-X github.com/wsgate/wsgate/internal/cli.Version=v1.2.3 \
//	  -X github.com/wsgate/wsgate/internal/cli.Commit=abc1234 \
//	  -X github.com/wsgate/wsgate/internal/cli.Date=2026-11-29T08:00:00Z" ./cmd/wsgate
//
// Without them, `go install ...@vX` builds report the module version from the build info, and
// plain builds report "dev" (and the VCS revision when Go recorded one).
var (
	Version = ""
	Commit  = ""
	Date    = ""
)

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print wsgate's version (and the commit and build date it was built from)",
		Example: `  wsgate version
  wsgate --version`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(a.stdout, "wsgate", versionLine())
			return nil
		},
	}
}

// version is the release version: the -ldflags value, else the module version `go install`
// recorded, else "dev".
func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// versionLine is the version followed, when known, by "(commit C, built D)".
func versionLine() string {
	commit, date := Commit, Date
	if commit == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					commit = s.Value
				case "vcs.time":
					if date == "" {
						date = s.Value
					}
				}
			}
		}
	}
	if len(commit) > 12 {
		commit = commit[:12]
	}
	switch {
	case commit != "" && date != "":
		return fmt.Sprintf("%s (commit %s, built %s)", version(), commit, date)
	case commit != "":
		return fmt.Sprintf("%s (commit %s)", version(), commit)
	case date != "":
		return fmt.Sprintf("%s (built %s)", version(), date)
	}
	return version()
}
