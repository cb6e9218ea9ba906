// Package scalar holds the GraphQL scalars whose Go binding differs from
// gqlgen's built-in one.
package scalar

import (
	"fmt"
	"math"

	"github.com/99designs/gqlgen/graphql"
)

// MarshalInt writes a GraphQL Int (gqlgen's own marshaler).
func MarshalInt(i int) graphql.Marshaler { return graphql.MarshalInt(i) }

// UnmarshalInt reads a GraphQL Int into a Go int, rejecting what is not a
// signed 32-bit integer, as the GraphQL spec requires of Int. gqlgen's
// built-in binding of Int to int accepts any 64-bit value, and gqlparser
// does not check the range of Int literals or variables either.
func UnmarshalInt(v any) (int, error) {
	i, err := graphql.UnmarshalInt64(v)
	if err != nil {
		return 0, err
	}
	if i < math.MinInt32 || i > math.MaxInt32 {
		return 0, fmt.Errorf("Int cannot represent non 32-bit signed integer value: %d", i)
	}
	return int(i), nil
}
