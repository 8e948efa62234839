package centrifugo

import (
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Token is an HS256 connect token for user sub, valid for ttl: the claims Centrifugo reads
// from a connection JWT are "sub" (the user), "exp", and "channels" (server-side
// subscriptions made at connect, no subscribe permission needed). wsgate's JWT authorizer
// reads the same token ("sub" as the user id unless userIdClaim says otherwise) and ignores
// "channels".
func Token(secret []byte, sub string, channels []string, ttl time.Duration) (string, error) {
	claims := jwt.MapClaims{"sub": sub, "exp": time.Now().Add(ttl).Unix()}
	if len(channels) > 0 {
		claims["channels"] = channels
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("connect token for %q: %w", sub, err)
	}
	return s, nil
}
