package deadletters

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/orderflow/orderflow/graph/model"
)

// position is where a merged page ends in each service's list: the id of
// the last letter of the service that the pages so far showed, which the
// service's own paging takes as after. A service that is missing has
// shown none.
type position map[string]int64

// after returns p moved past the letter id of service.
func (p position) after(service string, id int64) position {
	next := maps.Clone(p)
	if next == nil {
		next = position{}
	}
	next[service] = id
	return next
}

// encode is the opaque cursor: base64url of the positions as JSON.
func (p position) encode() string {
	b, _ := json.Marshal(map[string]int64(p)) // a map of strings to numbers always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor encode wrote, for the services named; ""
// is the start of every list.
func decodeCursor(s string, services []string) (position, error) {
	if s == "" {
		return position{}, nil
	}
	var p position
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &p)
	}
	if err == nil {
		for service, id := range p {
			if !slices.Contains(services, service) || id < 0 {
				err = fmt.Errorf("unknown service or id")
				break
			}
		}
	}
	if err != nil {
		return nil, model.BadInput("after", "after must be the endCursor or a cursor of an earlier deadLetters page, as it was returned")
	}
	return p, nil
}
