module github.com/orderflow/orderflow/tools

go 1.26.8

require (
	github.com/jackc/pgx/v5 v5.9.2
	github.com/orderflow/orderflow/paymentgateway v0.0.0
	github.com/orderflow/orderflow/schema v0.0.0
)

require (
	github.com/google/uuid v1.6.0 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	golang.org/x/text v0.29.0 // indirect
)

replace (
	github.com/orderflow/orderflow/paymentgateway => ../paymentgateway
	github.com/orderflow/orderflow/platform => ../platform
	github.com/orderflow/orderflow/schema => ../schema
)
