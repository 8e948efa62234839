package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"

	"github.com/wsgate/wsgate/internal/awsservice"
	"github.com/wsgate/wsgate/internal/functions"
	"github.com/wsgate/wsgate/internal/lambda"
	"github.com/wsgate/wsgate/internal/observe"
)

// startFunctions sets up the functions: section, if any: the functions' credentials (the first
// management credential, or a key generated for this run that the management API's verifier
// then accepts) and the Set that runs them.
func (s *Server) startFunctions(o Options) error {
	cfg := s.cfg
	if len(cfg.Functions) == 0 {
		return nil
	}
	if creds := cfg.Management.Credentials; len(creds) > 0 {
		s.fnCreds = functions.Credentials{AccessKeyID: creds[0].AccessKeyID, SecretAccessKey: creds[0].SecretAccessKey}
	} else {
		s.fnCreds, s.generated = generateCredentials(), true
	}
	set, err := functions.New(functions.FromConfig(cfg), functions.Options{
		Region: cfg.Region, AccountID: cfg.AccountID, Credentials: s.fnCreds,
		CAFile: s.trust.CAFile, CABundle: s.trust.Bundle, Watch: o.WatchFunctions, Logger: s.log,
		Env: awsservice.EndpointEnv(cfg.AWS.Endpoints),
	})
	if err != nil {
		return s.keyErr("functions", err)
	}
	s.fns = set
	s.log.Info("functions run by wsgate", "functions", strings.Join(set.Names(), ","), "watch", o.WatchFunctions,
		"credentials", s.fnCreds.AccessKeyID)
	return nil
}

// localFunction is integration.Options.Function and authorizer.Options.Function: the function
// of the functions: section an AWS_PROXY uri names, or nil.
func (s *Server) localFunction(uri string) lambda.Function {
	if s.fns == nil {
		return nil
	}
	name, ok := s.cfg.LocalFunction(uri)
	if !ok {
		return nil
	}
	if f, ok := s.fns.Function(name); ok {
		return f
	}
	return nil
}

func (s *Server) closeFunctions(ctx context.Context) {
	if s.fns == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.fns.Close(ctx); err != nil {
		s.log.Warn("functions did not stop", observe.KeyError, err)
	}
}

// generateCredentials makes an access key pair for this run, shaped like AWS's (AKIA + 16,
// 40-character secret).
func generateCredentials() functions.Credentials {
	var id [8]byte
	var secret [30]byte
	_, _ = rand.Read(id[:])
	_, _ = rand.Read(secret[:])
	return functions.Credentials{
		AccessKeyID:     "AKIA" + strings.ToUpper(hex.EncodeToString(id[:])),
		SecretAccessKey: base64.StdEncoding.EncodeToString(secret[:]),
	}
}
