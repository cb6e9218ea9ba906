package readmodel

import "github.com/redis/go-redis/v9"

// The fields of an order's hash: each stream's part of the order and the
// stream version that part reflects. Only that stream's events write them.
const (
	fieldOrder          = "order"
	fieldOrderVersion   = "order_version"
	fieldPayment        = "payment"
	fieldPaymentVersion = "payment_version"
)

// List changes that come with writing an order part.
const (
	listsKept    = ""        // the order stays in the lists it is in
	listsCreated = "created" // first in the customer's list and its status list
	listsMoved   = "moved"   // from the old status's list to the new one's
)

// writePart stores one part of an order, folded in Go from the part as it was
// read (or known to be: absent), if that is still what is stored: a
// compare-and-set on the part's version, done by Redis in one step with the
// list changes, so that a query sees an event applied whole or not at all.
//
// An order's two parts are written by different streams' events and never
// conflict. Two writers of one part (two members of the group during a
// rebalance) conflict only there: the one that read a part since overwritten
// is told so and reads again.
//
//	KEYS[1]  the order's hash
//	KEYS[2], KEYS[3]  with "created": the customer's list and the status list;
//	                  with "moved": the new status's list and the old one's
//	ARGV  part field, version field, version read, new version, part JSON,
//	      list change, order id, score (createdAt in ms)
//
// It returns 1 if it wrote, 0 if the stored part is at the new version or
// past it (these events were applied before), -1 if the stored part is not
// the one read.
var writePart = redis.NewScript(`
local stored = tonumber(redis.call('HGET', KEYS[1], ARGV[2]) or '0')
if stored >= tonumber(ARGV[4]) then return 0 end
if stored ~= tonumber(ARGV[3]) then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[5], ARGV[2], ARGV[4])
if ARGV[6] == 'created' then
  redis.call('ZADD', KEYS[2], ARGV[8], ARGV[7])
  redis.call('ZADD', KEYS[3], ARGV[8], ARGV[7])
elseif ARGV[6] == 'moved' then
  redis.call('ZREM', KEYS[3], ARGV[7])
  redis.call('ZADD', KEYS[2], ARGV[8], ARGV[7])
end
return 1
`)

// Results of writePart.
const (
	written   = 1
	unchanged = 0
	conflict  = -1
)
