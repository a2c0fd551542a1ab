-- wrk script: POST the bytes of one prepared request body file on every request (built once, so
-- wrk's own cost is the same for the bare server and for ringserve).
--   SUITE_BODY          path of the body file (required)
--   SUITE_CONTENT_TYPE  Content-Type (default application/json)
--   SUITE_HEADER_LEN    Inference-Header-Content-Length for the binary tensor extension (optional)
local path = assert(os.getenv("SUITE_BODY"), "SUITE_BODY is not set")
local f = assert(io.open(path, "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = os.getenv("SUITE_CONTENT_TYPE") or "application/json"
local json_len = os.getenv("SUITE_HEADER_LEN")
if json_len ~= nil and json_len ~= "" then
  wrk.headers["Inference-Header-Content-Length"] = json_len
end
