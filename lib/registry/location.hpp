#pragma once

#include <string>
#include <string_view>

namespace assetctl::registry {

// The absolute URL of an upload session's `Location` header, resolved against the URL of the
// request that returned it (RFC 3986 section 5.2, for the forms registries send): an absolute
// URL stays as it is (ECR and distribution behind a proxy), `//host/path` takes the request's
// scheme, `/v2/...` (distribution's usual answer) the request's origin, and a bare relative
// path the request path's folder. A fragment is dropped. Throws ProtocolError when the
// location is empty or the result is not an http(s) URL.
std::string resolve_location(std::string_view request_url, std::string_view location);

// `url` with `name=value` added to its query, `value` percent-encoded. Upload Locations often
// carry a query already (distribution: `?_state=...`), so the separator is `&` then.
std::string add_query_parameter(std::string_view url, std::string_view name,
                                std::string_view value);

}  // namespace assetctl::registry
