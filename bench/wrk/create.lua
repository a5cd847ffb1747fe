-- create: POST /api/accounts without a body (overdraft limit 0) → 201.
-- SQL: create_account (bench/pgbench/create.sql).
require("common")
wrk.method = "POST"
wrk.path = "/api/accounts"
