-- wrk script for scenario 2: POST one deal per request, as JSON.
-- The bearer token (our server) comes from the environment; the limit server needs none.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("CRM_BENCH_HTTP_TOKEN")
if token ~= nil and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
wrk.body = '{"title":"Deal from wrk","stage":"new","priority":7,'
  .. '"custom":{"amount":12.5,"probability":40,"region":"north",'
  .. '"closes_on":"2026-06-30","contact_email":"wrk@example.com"}}'
