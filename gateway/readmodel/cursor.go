package readmodel

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// cursor is a position in a customer's list: the order's score (createdAt in
// ms) and its id, which breaks ties between orders created in the same
// millisecond. Clients see it as opaque base64.
type cursor struct {
	score int64
	id    string
}

const cursorTag = "o1"

func (c cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorTag + ":" + strconv.FormatInt(c.score, 10) + ":" + c.id))
}

func parseCursor(s string) (cursor, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, false
	}
	tag, rest, ok := strings.Cut(string(raw), ":")
	if !ok || tag != cursorTag {
		return cursor{}, false
	}
	num, id, ok := strings.Cut(rest, ":")
	if !ok || id == "" {
		return cursor{}, false
	}
	score, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return cursor{}, false
	}
	return cursor{score: score, id: id}, true
}
