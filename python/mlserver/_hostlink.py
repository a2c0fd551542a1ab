"""Where mlserver's logs and metrics go. ringserve_host sets `sink` (an object with
log(token, level, message) and metric(token, kind, name, help, value, buckets)) when the package
runs inside a ringserve worker; otherwise it stays None and nothing leaves the process."""
sink = None
