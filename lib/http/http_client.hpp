#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace assetctl::http {

struct Header {
    std::string name;
    std::string value;
};

using Headers = std::vector<Header>;

// The value of the first header called `name` (case-insensitive), if any.
std::optional<std::string> find_header(const Headers& headers, std::string_view name);

struct Request;
// The whole body of `request`, reading a streamed body to its end (fakes and tests).
std::string body_bytes(const Request& request);

// Produces a request body piece by piece, for bodies too large to hold in memory (image
// layers). read() fills up to `size` bytes and returns how many; 0 means the end. It may throw:
// the request then fails with that exception.
class BodyReader {
  public:
    virtual ~BodyReader() = default;
    virtual std::size_t read(char* buffer, std::size_t size) = 0;
};

// Reads `bytes`, which the caller keeps alive (and unchanged) while the reader is used.
std::unique_ptr<BodyReader> read_from_memory(std::string_view bytes);

// Reads `size` bytes of `file` from `offset` with pread() (so readers of several ranges of one
// file run in parallel), never holding more than the caller's buffer. The file is opened here
// (std::system_error naming it when it cannot be); a file that ends before the range does
// fails the read (std::runtime_error), and so the request.
std::unique_ptr<BodyReader> read_from_file(const std::filesystem::path& file, std::uint64_t offset,
                                           std::uint64_t size);

// A body of exactly `size` bytes, read through a fresh BodyReader for every send (a request
// sent again, after a 401 or on a retry, starts from the first byte). With `unknown_size` it is
// sent with `Transfer-Encoding: chunked` until the reader returns 0 (a layer compressed on the
// fly, as docker's own streaming PATCH does).
struct StreamedBody {
    std::uint64_t size = 0;
    std::function<std::unique_ptr<BodyReader>()> open;
    bool unknown_size = false;
};

struct Request {
    std::string method = "GET";
    std::string url;
    Headers headers;
    std::string body;
    // When set, the body comes from here instead of `body`.
    std::optional<StreamedBody> stream;
    // Zero means the client's default total timeout.
    std::chrono::milliseconds timeout{0};
    // PEM certificates trusted for this request IN ADDITION to the client's trust (the system
    // store, or ClientOptions::ca_bundle): a registry's CA from docker's certs.d. Shared, so
    // copies of a request do not copy the text.
    std::shared_ptr<const std::string> extra_ca_pem;
    // Cleanup that must still go out after SIGINT/SIGTERM (AbortMultipartUpload, which removes
    // what an interrupted upload left): the interrupt does not end it; its timeout bounds it.
    bool survives_interrupt = false;
};

struct Response {
    long status = 0;
    Headers headers;
    std::string body;

    std::optional<std::string> header(std::string_view name) const {
        return find_header(headers, name);
    }
};

// Why no response arrived. Decides whether a retry can help.
enum class TransportErrorKind {
    resolve,           // DNS lookup failed
    connect,           // refused or unreachable
    timeout,           // connect or total timeout
    connection_reset,  // sent or received nothing, or the peer closed mid-way
    tls,               // the certificate is not trusted (or a CA file is unreadable)
    tls_handshake,     // no TLS session came about: the peer does not speak TLS on that port,
                       // or no protocol version or cipher in common; retrying will not help
    gave_up,           // an inner step already spent its retries (a registry's ping): an outer
                       // retry loop must not multiply them
    other,
};

class TransportError : public std::runtime_error {
  public:
    TransportError(TransportErrorKind kind, const std::string& message)
        : std::runtime_error(message), kind_(kind) {}
    TransportErrorKind kind() const noexcept { return kind_; }
    bool retryable() const noexcept {
        return kind_ == TransportErrorKind::connect || kind_ == TransportErrorKind::timeout ||
               kind_ == TransportErrorKind::connection_reset;
    }

  private:
    TransportErrorKind kind_;
};

// Sends one request and returns whatever status the server answered; throws TransportError
// when no answer arrived. Implementations are safe to call from several threads.
class HttpClient {
  public:
    virtual ~HttpClient() = default;
    virtual Response send(const Request& request) = 0;
};

// Settings of the real client. Defaults are the named constants below.
inline constexpr std::chrono::milliseconds k_default_connect_timeout{5'000};
inline constexpr std::chrono::milliseconds k_default_total_timeout{60'000};
// A request during which nothing is sent or received for this long fails with kind timeout
// (retried), however long its total timeout: a peer that went silent is noticed in this time,
// not after a large upload's whole allowance (ASSETCTL_HTTP_STALL_TIMEOUT).
inline constexpr std::chrono::seconds k_default_stall_timeout{60};
// The system's bundle when libcurl does not name its own: a request's extra_ca_pem is added to
// it (or to ClientOptions::ca_bundle), since libcurl takes a request's CAs as one PEM blob that
// replaces its bundle file.
inline constexpr std::string_view k_system_ca_bundle = "/etc/ssl/certs/ca-certificates.crt";

struct ClientOptions {
    std::chrono::milliseconds connect_timeout = k_default_connect_timeout;
    std::chrono::milliseconds total_timeout = k_default_total_timeout;
    // Zero: no stall limit, only the total timeout.
    std::chrono::seconds stall_timeout = k_default_stall_timeout;
    // A PEM bundle to trust instead of the system's (AWS_CA_BUNDLE).
    std::optional<std::string> ca_bundle;
    // SSL_CERT_FILE, the first candidate when ca_bundle is unset (http/ca_bundle.hpp).
    std::optional<std::string> ssl_cert_file;
    std::string user_agent;
};

// The libcurl client. Connections, DNS results and TLS sessions are shared across requests
// and threads, so consecutive requests to one host reuse the connection. Proxies come from the
// environment as libcurl reads it at each request: https_proxy / HTTPS_PROXY, http_proxy (for
// http:// URLs only the lower-case form: libcurl ignores HTTP_PROXY), all_proxy / ALL_PROXY,
// and no_proxy / NO_PROXY.
std::unique_ptr<HttpClient> make_curl_client(const ClientOptions& options);

}  // namespace assetctl::http
