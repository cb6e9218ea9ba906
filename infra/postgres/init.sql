-- orderflow roles and databases. Idempotent: run on every `scripts/infra.sh up`,
-- and once by the postgres image (/docker-entrypoint-initdb.d) in docker-compose.yml.
-- Must be run by psql (it uses \gexec) as a superuser, connected to `postgres`.
--
-- The services connect with
--   postgres://orderflow:orderflow@127.0.0.1:5432/orderflow_<svc>?sslmode=disable
\set ON_ERROR_STOP on

-- application role: owns every orderflow database; CREATEDB so that tests can
-- create throw-away databases.
SELECT 'CREATE ROLE orderflow LOGIN CREATEDB PASSWORD ''orderflow'''
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'orderflow') \gexec

-- a pre-existing role without the right attributes (or without a password) is fixed;
-- an existing password is left alone so that a second run changes nothing
SELECT 'ALTER ROLE orderflow LOGIN CREATEDB'
  FROM pg_roles WHERE rolname = 'orderflow' AND NOT (rolcanlogin AND rolcreatedb) \gexec
SELECT 'ALTER ROLE orderflow PASSWORD ''orderflow'''
  FROM pg_authid WHERE rolname = 'orderflow' AND rolpassword IS NULL \gexec

-- one database per service (each service owns its event store), plus one for tests
SELECT format('CREATE DATABASE %I OWNER orderflow', d)
  FROM unnest(ARRAY['orderflow_order', 'orderflow_payment', 'orderflow_paymentgateway',
                    'orderflow_compensation', 'orderflow_test']) AS d
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = d) \gexec

SELECT format('ALTER DATABASE %I OWNER TO orderflow', datname)
  FROM pg_database
 WHERE datname IN ('orderflow_order', 'orderflow_payment', 'orderflow_paymentgateway',
                   'orderflow_compensation', 'orderflow_test')
   AND datdba <> (SELECT oid FROM pg_roles WHERE rolname = 'orderflow') \gexec

-- query statistics (needs shared_preload_libraries=pg_stat_statements, which
-- infra.sh and docker-compose.yml set); readable by the app role for all queries
SELECT 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements'
 WHERE EXISTS (SELECT FROM pg_available_extensions WHERE name = 'pg_stat_statements')
   AND NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_stat_statements') \gexec
SELECT 'GRANT pg_read_all_stats TO orderflow'
 WHERE NOT pg_has_role('orderflow', 'pg_read_all_stats', 'MEMBER') \gexec
