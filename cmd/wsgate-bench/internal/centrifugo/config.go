package centrifugo

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
)

// Config is what the generator reads from a Centrifugo JSON config file: where it listens,
// the server API key, the HMAC secret of connect tokens.
type Config struct {
	Port       int    // http_server.port (default 8000)
	Address    string // http_server.address (default: every interface; the generator dials 127.0.0.1)
	APIKey     string // http_api.key
	APIPrefix  string // http_api.handler_prefix (default /api)
	HMACSecret string // client.token.hmac_secret_key
	Anonymous  bool   // client.allow_anonymous_connect_without_token
}

// LoadConfig reads a Centrifugo v6 JSON config file (the only format the generator reads;
// Centrifugo also takes YAML and TOML).
func LoadConfig(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct {
		HTTPServer struct {
			Address string          `json:"address"`
			Port    json.RawMessage `json:"port"`
		} `json:"http_server"`
		HTTPAPI struct {
			Key           string `json:"key"`
			HandlerPrefix string `json:"handler_prefix"`
		} `json:"http_api"`
		Client struct {
			Token struct {
				HMACSecretKey string `json:"hmac_secret_key"`
			} `json:"token"`
			AllowAnonymous bool `json:"allow_anonymous_connect_without_token"`
		} `json:"client"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("%s: not a Centrifugo JSON config: %w", path, err)
	}
	c := &Config{Port: 8000, Address: f.HTTPServer.Address, APIKey: f.HTTPAPI.Key, APIPrefix: f.HTTPAPI.HandlerPrefix,
		HMACSecret: f.Client.Token.HMACSecretKey, Anonymous: f.Client.AllowAnonymous}
	if p := f.HTTPServer.Port; len(p) > 0 {
		var n int
		var s string
		if json.Unmarshal(p, &n) == nil {
			c.Port = n
		} else if json.Unmarshal(p, &s) == nil {
			if c.Port, err = strconv.Atoi(s); err != nil {
				return nil, fmt.Errorf("%s: http_server.port %q is not a number", path, s)
			}
		}
	}
	return c, nil
}
