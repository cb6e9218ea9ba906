package deadletters

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/orderflow/orderflow/graph/model"
	"github.com/orderflow/orderflow/platform/parking"
)

// List returns the next q.First letters q selects after q.After. It asks
// every selected service at once for q.First letters after its own
// position in the cursor, and takes the page from the front of their
// lists: by parkedAt, then service, then id, each service's letters in
// the order of its list (by id). Every letter a page shows was the first
// one left of its service, so the next page, which starts after the last
// one shown of each, skips and repeats none; and a page ends early rather
// than pass over a service's letters it has not fetched. A service that fails fails
// the list, named in the error: a page without its letters would look
// complete.
func (t *Triage) List(ctx context.Context, q model.DeadLetterQuery) (*model.DeadLetterConnection, error) {
	pos, err := decodeCursor(q.After, t.names)
	if err != nil {
		return nil, err
	}
	clients, err := t.selected(q.Service)
	if err != nil {
		return nil, err
	}
	f := filter(q.DeadLetterSelection, q.State)
	pages := make([]parking.Page, len(clients))
	g, gctx := errgroup.WithContext(ctx)
	for i, c := range clients {
		g.Go(func() error {
			p, err := c.List(gctx, f, q.First, pos[c.Service()])
			if err != nil {
				return serviceError(c.Service(), err)
			}
			pages[i] = p
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	for i, p := range pages {
		if len(p.Letters) == 0 && p.HasNext {
			return nil, fmt.Errorf("the %s service answered an empty page that has a next one", clients[i].Service())
		}
	}

	heads := make([]int, len(clients)) // the next letter of each page
	conn := &model.DeadLetterConnection{Edges: []*model.DeadLetterEdge{}, PageInfo: &model.PageInfo{}}
	for len(conn.Edges) < q.First && !waitsForMore(pages, heads) {
		next := -1
		for i := range clients {
			if heads[i] < len(pages[i].Letters) && (next < 0 || before(clients[i].Service(), pages[i].Letters[heads[i]],
				clients[next].Service(), pages[next].Letters[heads[next]])) {
				next = i
			}
		}
		if next < 0 {
			break
		}
		service, l := clients[next].Service(), pages[next].Letters[heads[next]]
		heads[next]++
		node, err := toModel(service, l)
		if err != nil {
			return nil, err
		}
		pos = pos.after(service, l.ID)
		conn.Edges = append(conn.Edges, &model.DeadLetterEdge{Cursor: pos.encode(), Node: node})
	}
	for i := range clients {
		if heads[i] < len(pages[i].Letters) || pages[i].HasNext {
			conn.PageInfo.HasNextPage = true
		}
	}
	if n := len(conn.Edges); n > 0 {
		conn.PageInfo.EndCursor = &conn.Edges[n-1].Cursor
	}
	return conn, nil
}

// waitsForMore reports whether a page is used up while its service has
// more: its next letter may come before any other page's, so the merged
// page ends here. (A service serves as many as were asked for, so this
// happens only once the merged page is full, unless a service serves
// shorter pages.)
func waitsForMore(pages []parking.Page, heads []int) bool {
	for i, p := range pages {
		if heads[i] == len(p.Letters) && p.HasNext {
			return true
		}
	}
	return false
}

// before reports whether service a's letter x comes before service b's
// letter y in a merged page.
func before(a string, x parking.Letter, b string, y parking.Letter) bool {
	if !x.ParkedAt.Equal(y.ParkedAt) {
		return x.ParkedAt.Before(y.ParkedAt)
	}
	if c := strings.Compare(a, b); c != 0 {
		return c < 0
	}
	return x.ID < y.ID
}
