package server

import (
	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/dashboard"
)

// newDashboard builds the live page (/_wsgate/) from the node's parts: its hub and store, its
// metrics, the access-log tap New installed and the management credentials, which guard the
// page as they guard the management API (Reload hands it the new ones).
func (s *Server) newDashboard() *dashboard.Dashboard {
	return dashboard.New(dashboard.Options{
		Node: s.hub.Node(), StoreType: s.cfg.Store.Type, Hub: s.hub, Store: s.store,
		Gatherer: s.metrics.Registry, Tail: s.tail, Credentials: pageCredentials(s.cfg), // Reload sets them again
		SecureCookie: s.cfg.TLS != nil, Logger: s.log,
	})
}

// pageCredentials is management.credentials as configured: the key pairs a person signs in to the
// page with (not the key generated for functions, which only signs their callbacks).
func pageCredentials(cfg *config.Config) map[string]string {
	m := make(map[string]string, len(cfg.Management.Credentials))
	for _, c := range cfg.Management.Credentials {
		m[c.AccessKeyID] = c.SecretAccessKey
	}
	return m
}
