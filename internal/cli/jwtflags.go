package cli

import (
	"cmp"
	"errors"
	"os"

	"github.com/spf13/pflag"

	"github.com/wsgate/wsgate/internal/config"
)

// envJWTSecret holds --jwt-secret's default, so the secret need not be on the command line.
const envJWTSecret = "WSGATE_JWT_SECRET"

// jwtFlags are --jwt-authorizer and the --jwt-* settings of the built-in JWT authorizer that
// replaces a template's authorizer (cfn.Options.JWTAuthorizers). Each setting is the config key
// of the same name under authorizers.NAME (docs/templates.md).
type jwtFlags struct {
	names                                          []string
	secret, jwksURL, issuer, identity, userIDClaim string
	audience                                       []string
	allowMissingExp                                bool
}

// jwtFlagNames are the flags of jwtFlags, for "goes with --template" checks.
var jwtFlagNames = []string{"jwt-authorizer", "jwt-secret", "jwt-jwks-url", "jwt-issuer", "jwt-audience",
	"jwt-identity-source", "jwt-user-id-claim", "jwt-allow-missing-exp"}

func addJWTFlags(fs *pflag.FlagSet) *jwtFlags {
	f := &jwtFlags{}
	fs.StringArrayVar(&f.names, "jwt-authorizer", nil, "replace the template's authorizer `NAME` (logical id or Name) with wsgate's built-in JWT authorizer, set by the --jwt-* flags, for an authorizer function that cannot run here (repeatable)")
	fs.StringVar(&f.secret, "jwt-secret", "", "with --jwt-authorizer: the HS256/384/512 `SECRET` tokens are signed with (default $"+envJWTSecret+"; authorizers.NAME.secret)")
	fs.StringVar(&f.jwksURL, "jwt-jwks-url", "", "with --jwt-authorizer: the JWKS `URL` for RS*, ES*, PS* and EdDSA tokens (jwksUrl)")
	fs.StringVar(&f.issuer, "jwt-issuer", "", "with --jwt-authorizer: the iss `VALUE` tokens must carry (issuer)")
	fs.StringArrayVar(&f.audience, "jwt-audience", nil, "with --jwt-authorizer: an aud `VALUE` tokens may carry (audience; repeatable)")
	fs.StringVar(&f.identity, "jwt-identity-source", "", "with --jwt-authorizer: where the token is, e.g. route.request.querystring.token (`SOURCE`; default the template's IdentitySource)")
	fs.StringVar(&f.userIDClaim, "jwt-user-id-claim", "", "with --jwt-authorizer: the `CLAIM` that is the connection's user id (userIdClaim; default sub)")
	fs.BoolVar(&f.allowMissingExp, "jwt-allow-missing-exp", false, "with --jwt-authorizer: admit tokens without an exp claim (allowMissingExp; refused by default, as on AWS)")
	return f
}

// authorizers is cfn.Options.JWTAuthorizers: each --jwt-authorizer name with the settings.
// Settings without a name, or a name without a key to verify with, are errors.
func (f *jwtFlags) authorizers(fs *pflag.FlagSet) (map[string]config.Authorizer, error) {
	if len(f.names) == 0 {
		for _, n := range jwtFlagNames[1:] {
			if fs.Changed(n) {
				return nil, errors.New("--" + n + " sets the JWT authorizer that --jwt-authorizer NAME puts in place of a template's authorizer; add --jwt-authorizer")
			}
		}
		return nil, nil
	}
	a := config.Authorizer{
		Type: config.JWT, Secret: cmp.Or(f.secret, os.Getenv(envJWTSecret)), JWKSURL: f.jwksURL,
		Issuer: f.issuer, Audience: config.StringList(f.audience), UserIDClaim: f.userIDClaim,
		AllowMissingExp: f.allowMissingExp,
	}
	if f.identity != "" {
		a.IdentitySource = config.StringList{f.identity}
	}
	if a.Secret == "" && a.JWKSURL == "" {
		return nil, errors.New("--jwt-authorizer needs the key tokens are verified with: --jwt-secret (or $" + envJWTSecret + ") for HS256/384/512, or --jwt-jwks-url for RS*, ES*, PS*, EdDSA")
	}
	m := make(map[string]config.Authorizer, len(f.names))
	for _, n := range f.names {
		m[n] = a
	}
	return m, nil
}
