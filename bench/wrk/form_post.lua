-- POSTs one fixed form body with HTTP Basic client authentication.
-- Environment: BENCH_BASIC (base64 of id:secret), BENCH_BODY (the urlencoded form).
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BENCH_BASIC")
