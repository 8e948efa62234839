package server

import (
	"github.com/wsgate/wsgate/internal/dashboard"
)

// newDashboard builds the live page (/_wsgate/) from the node's parts: its hub and store, its
// metrics, the access-log tap New installed and the management credentials, which guard the
// page as they guard the management API.
func (s *Server) newDashboard() *dashboard.Dashboard {
	creds := make(map[string]string, len(s.cfg.Management.Credentials))
	for _, c := range s.cfg.Management.Credentials {
		creds[c.AccessKeyID] = c.SecretAccessKey
	}
	return dashboard.New(dashboard.Options{
		Node: s.hub.Node(), StoreType: s.cfg.Store.Type, Hub: s.hub, Store: s.store,
		Gatherer: s.metrics.Registry, Tail: s.tail, Credentials: creds,
		SecureCookie: s.cfg.TLS != nil, Logger: s.log,
	})
}
