#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <exception>
#include <fstream>
#include <limits>
#include <mutex>
#include <optional>
#include <sstream>
#include <vector>

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include "http/ca_bundle.hpp"
#include "http/http_client.hpp"
#include "http/redact.hpp"
#include "util/interrupt.hpp"
#include "util/strings.hpp"

namespace assetctl::http {

namespace {

// libcurl's compiled-in CA bundle (CURLOPT_CAINFO's default), if it has one.
std::optional<std::string> compiled_ca_bundle() {
    const auto* info = curl_version_info(CURLVERSION_NOW);
    if (info == nullptr || info->cainfo == nullptr) {
        return std::nullopt;
    }
    return std::string(info->cainfo);
}

void global_init() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            throw TransportError(TransportErrorKind::other, "libcurl initialisation failed");
        }
    });
}

constexpr long k_max_idle_connections = 64;
// libcurl's default is 64 KiB; larger reads halve the calls per layer, and the buffer is per
// transfer (so at most --upload-jobs of them).
constexpr long k_upload_buffer_size = 512L * 1024;

TransportErrorKind kind_of(CURLcode code) {
    switch (code) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
            return TransportErrorKind::resolve;
        case CURLE_COULDNT_CONNECT:
            return TransportErrorKind::connect;
        case CURLE_OPERATION_TIMEDOUT:
            return TransportErrorKind::timeout;
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
            return TransportErrorKind::connection_reset;
        case CURLE_SSL_CONNECT_ERROR:
            return TransportErrorKind::tls_handshake;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
            return TransportErrorKind::tls;
        default:
            return TransportErrorKind::other;
    }
}

// One CURLSH for the client: connection cache, DNS cache and TLS sessions shared by every
// easy handle, guarded by one mutex per data kind as libcurl asks.
class Share {
  public:
    Share() : share_(curl_share_init()) {
        if (share_ == nullptr) {
            throw TransportError(TransportErrorKind::other, "curl_share_init failed");
        }
        curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, &Share::lock);
        curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, &Share::unlock);
        curl_share_setopt(share_, CURLSHOPT_USERDATA, this);
        curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
        curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
        curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    }
    ~Share() { curl_share_cleanup(share_); }
    Share(const Share&) = delete;
    Share& operator=(const Share&) = delete;

    CURLSH* get() const { return share_; }

  private:
    static void lock(CURL*, curl_lock_data data, curl_lock_access, void* self) {
        static_cast<Share*>(self)->mutexes_.at(static_cast<std::size_t>(data)).lock();
    }
    static void unlock(CURL*, curl_lock_data data, void* self) {
        static_cast<Share*>(self)->mutexes_.at(static_cast<std::size_t>(data)).unlock();
    }

    CURLSH* share_;
    std::array<std::mutex, CURL_LOCK_DATA_LAST> mutexes_;
};

struct HeaderList {
    curl_slist* list = nullptr;
    ~HeaderList() { curl_slist_free_all(list); }
    void add(const std::string& line) {
        curl_slist* next = curl_slist_append(list, line.c_str());
        if (next == nullptr) {
            throw TransportError(TransportErrorKind::other, "out of memory building headers");
        }
        list = next;
    }
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    static_cast<std::string*>(user)->append(data, size * count);
    return size * count;
}

// Feeds a StreamedBody to libcurl. An exception from the reader cannot cross libcurl's C
// frames: it is kept, the transfer aborted, and perform() rethrows it.
struct UploadState {
    const StreamedBody* body = nullptr;
    std::unique_ptr<BodyReader> reader;
    std::uint64_t remaining = 0;  // the maximum for a body of unknown size
    bool unknown_size = false;
    std::exception_ptr error;

    // From the first byte, with a fresh reader.
    void start() {
        reader = body->open();
        unknown_size = body->unknown_size;
        remaining = unknown_size ? std::numeric_limits<std::uint64_t>::max() : body->size;
    }
};

// libcurl rewinds the body when it sends the request again on its own (a reused connection
// that the server had closed, a redirect, an auth round): back to the first byte is a fresh
// reader; anywhere else cannot be done.
int on_seek(void* user, curl_off_t offset, int origin) {
    auto* state = static_cast<UploadState*>(user);
    if (offset != 0 || origin != SEEK_SET) {
        return CURL_SEEKFUNC_CANTSEEK;
    }
    try {
        state->start();
        return CURL_SEEKFUNC_OK;
    } catch (...) {
        state->error = std::current_exception();
        return CURL_SEEKFUNC_FAIL;
    }
}

std::size_t on_read(char* buffer, std::size_t size, std::size_t count, void* user) {
    auto* state = static_cast<UploadState*>(user);
    try {
        const std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(size * count, state->remaining));
        if (want == 0) {
            return 0;
        }
        const std::size_t got = state->reader->read(buffer, want);
        if (got == 0 && state->unknown_size) {
            return 0;  // the end of a chunked body
        }
        if (got == 0) {
            throw std::runtime_error("the request body ended " + std::to_string(state->remaining) +
                                     " bytes early");
        }
        state->remaining -= got;
        return got;
    } catch (...) {
        state->error = std::current_exception();
        return CURL_READFUNC_ABORT;
    }
}

// Ends a transfer in flight once SIGINT/SIGTERM arrived (util/interrupt.hpp), so a large
// upload or a slow answer does not keep the process running after Ctrl-C - unless the request
// is the cleanup of such an interruption (Request::survives_interrupt).
int on_progress(void* data, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    const auto* request = static_cast<const Request*>(data);
    return util::interrupted() && !request->survives_interrupt ? 1 : 0;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto* headers = static_cast<Headers*>(user);
    const std::string_view line(data, size * count);
    if (line.starts_with("HTTP/")) {
        headers->clear();  // a new response (after a 100 Continue or a proxy's CONNECT answer)
    } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
        headers->push_back(
            {std::string(line.substr(0, colon)), util::trim(line.substr(colon + 1))});
    }
    return size * count;
}

class CurlClient final : public HttpClient {
  public:
    explicit CurlClient(ClientOptions options) : options_(std::move(options)) {
        if (!options_.ca_bundle) {
            options_.ca_bundle = discover_ca_bundle({options_.ssl_cert_file, compiled_ca_bundle()},
                                                    is_readable_file);
        }
    }

    ~CurlClient() override {
        for (CURL* handle : idle_) {
            curl_easy_cleanup(handle);
        }
    }

    Response send(const Request& request) override {
        CURL* handle = acquire();
        try {
            Response response = perform(handle, request);
            release(handle);
            return response;
        } catch (...) {
            curl_easy_cleanup(handle);  // its connection may be in an unknown state
            throw;
        }
    }

  private:
    CURL* acquire() {
        {
            std::lock_guard lock(mutex_);
            if (!idle_.empty()) {
                CURL* handle = idle_.back();
                idle_.pop_back();
                return handle;
            }
        }
        CURL* handle = curl_easy_init();
        if (handle == nullptr) {
            throw TransportError(TransportErrorKind::other, "curl_easy_init failed");
        }
        return handle;
    }

    void release(CURL* handle) {
        std::lock_guard lock(mutex_);
        idle_.push_back(handle);
    }

    // One request on `handle`: options, body, the transfer, and its outcome.
    Response perform(CURL* handle, const Request& request) {
        curl_easy_reset(handle);  // keeps the handle's live connections
        Response response;
        std::array<char, CURL_ERROR_SIZE> error{};
        HeaderList headers;
        add_request_headers(headers, request);
        set_transfer_options(handle, request, headers, error);
        curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &on_body);
        curl_easy_setopt(handle, CURLOPT_WRITEDATA, &response.body);
        curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, &on_header);
        curl_easy_setopt(handle, CURLOPT_HEADERDATA, &response.headers);
        UploadState upload;
        set_body_options(handle, request, upload);

        const auto started = std::chrono::steady_clock::now();
        const CURLcode code = curl_easy_perform(handle);
        const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - started);
        throw_if_failed(code, request, upload, error, elapsed);
        curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &response.status);
        spdlog::trace("http {} {} -> {} ({} ms, {} bytes)", request.method,
                      url_for_log(request.url), response.status, elapsed.count(),
                      response.body.size());
        return response;
    }

    static void add_request_headers(HeaderList& headers, const Request& request) {
        for (const auto& header : request.headers) {
            // libcurl drops "Name:" with nothing after it; "Name;" sends an empty value.
            headers.add(header.value.empty() ? header.name + ";"
                                             : header.name + ": " + header.value);
        }
        headers.add("Expect:");  // no 100-continue round trip for request bodies
        if (!find_header(request.headers, "Content-Type")) {
            // Bodies go as POSTFIELDS, for which libcurl would otherwise label any body
            // application/x-www-form-urlencoded (and S3 would store that as the object's type).
            headers.add("Content-Type:");
        }
    }

    // URL, connection sharing, timeouts, TLS, headers and the interrupt check.
    void set_transfer_options(CURL* handle, const Request& request, const HeaderList& headers,
                              std::array<char, CURL_ERROR_SIZE>& error) {
        const auto total = request.timeout.count() > 0 ? request.timeout : options_.total_timeout;
        curl_easy_setopt(handle, CURLOPT_URL, request.url.c_str());
        curl_easy_setopt(handle, CURLOPT_SHARE, share_.get());
        // The shared cache otherwise keeps only 5 idle connections and, with more threads or
        // hosts than that, closes one each time a request ends instead of reusing them.
        curl_easy_setopt(handle, CURLOPT_MAXCONNECTS, k_max_idle_connections);
        curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error.data());
        curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS,
                         static_cast<long>(options_.connect_timeout.count()));
        curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(total.count()));
        if (options_.stall_timeout.count() > 0) {
            // Below 1 byte per second for the whole stall time: nothing moved at all.
            curl_easy_setopt(handle, CURLOPT_LOW_SPEED_LIMIT, 1L);
            curl_easy_setopt(handle, CURLOPT_LOW_SPEED_TIME,
                             static_cast<long>(options_.stall_timeout.count()));
        }
        curl_easy_setopt(handle, CURLOPT_USERAGENT, options_.user_agent.c_str());
        if (options_.ca_bundle) {
            curl_easy_setopt(handle, CURLOPT_CAINFO, options_.ca_bundle->c_str());
        }
        if (request.extra_ca_pem) {
            const std::string pem = base_ca_pem() + "\n" + *request.extra_ca_pem;
            curl_blob blob{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_COPY};
            curl_easy_setopt(handle, CURLOPT_CAINFO_BLOB, &blob);
        }
        curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.list);
        curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, &on_progress);
        curl_easy_setopt(handle, CURLOPT_XFERINFODATA, &request);
    }

    // The method and body: a streamed upload (read through `upload`), HEAD, a bodiless GET,
    // or the body in memory as POSTFIELDS.
    static void set_body_options(CURL* handle, const Request& request, UploadState& upload) {
        if (request.stream) {
            upload.body = &*request.stream;
            upload.start();
            curl_easy_setopt(handle, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(handle, CURLOPT_READFUNCTION, &on_read);
            curl_easy_setopt(handle, CURLOPT_READDATA, &upload);
            curl_easy_setopt(handle, CURLOPT_SEEKFUNCTION, &on_seek);
            curl_easy_setopt(handle, CURLOPT_SEEKDATA, &upload);
            curl_easy_setopt(handle, CURLOPT_UPLOAD_BUFFERSIZE, k_upload_buffer_size);
            if (!upload.unknown_size) {  // else libcurl sends it chunked (HTTP/1.1)
                curl_easy_setopt(handle, CURLOPT_INFILESIZE_LARGE,
                                 static_cast<curl_off_t>(request.stream->size));
            }
            if (request.method != "PUT") {
                curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, request.method.c_str());
            }
        } else if (request.method == "HEAD") {
            curl_easy_setopt(handle, CURLOPT_NOBODY, 1L);
        } else if (request.method == "GET" && request.body.empty()) {
            curl_easy_setopt(handle, CURLOPT_HTTPGET, 1L);
        } else {
            curl_easy_setopt(handle, CURLOPT_POSTFIELDS, request.body.data());
            curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                             static_cast<curl_off_t>(request.body.size()));
            if (request.method != "POST") {
                curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, request.method.c_str());
            }
        }
    }

    // Rethrows the body reader's exception, then Interrupted or TransportError for a transfer
    // that did not complete.
    static void throw_if_failed(CURLcode code, const Request& request, const UploadState& upload,
                                const std::array<char, CURL_ERROR_SIZE>& error,
                                std::chrono::milliseconds elapsed) {
        if (upload.error) {
            std::rethrow_exception(upload.error);
        }
        if (code == CURLE_ABORTED_BY_CALLBACK && util::interrupted()) {
            throw util::Interrupted(request.method + " " + url_for_log(request.url) +
                                    ": stopped by an interrupt");
        }
        if (code != CURLE_OK) {
            const std::string detail = error[0] != '\0' ? error.data() : curl_easy_strerror(code);
            spdlog::trace("http {} {} failed after {} ms: {}", request.method,
                          url_for_log(request.url), elapsed.count(), detail);
            throw TransportError(kind_of(code),
                                 request.method + " " + url_for_log(request.url) + ": " + detail);
        }
    }

    // The bundle a request's extra CAs are added to: ca_bundle (AWS_CA_BUNDLE), else the
    // system's. Read once; a bundle that cannot be read is a tls TransportError, as libcurl
    // reports a missing CAINFO file.
    const std::string& base_ca_pem() {
        std::lock_guard lock(base_ca_mutex_);
        if (!base_ca_pem_) {
            const std::string path = base_ca_path();
            std::ifstream in(path, std::ios::binary);
            std::ostringstream text;
            text << in.rdbuf();
            if (!in) {
                throw TransportError(TransportErrorKind::tls,
                                     "cannot read the CA bundle " + path +
                                         " (to add a registry's own CA certificates to it)");
            }
            base_ca_pem_ = text.str();
        }
        return *base_ca_pem_;
    }

    std::string base_ca_path() const {
        if (options_.ca_bundle) {
            return *options_.ca_bundle;
        }
        const auto* info = curl_version_info(CURLVERSION_NOW);
        return info != nullptr && info->cainfo != nullptr ? std::string(info->cainfo)
                                                          : std::string(k_system_ca_bundle);
    }

    ClientOptions options_;
    std::mutex base_ca_mutex_;
    std::optional<std::string> base_ca_pem_;
    Share share_;
    std::mutex mutex_;
    std::vector<CURL*> idle_;
};

}  // namespace

std::unique_ptr<HttpClient> make_curl_client(const ClientOptions& options) {
    global_init();
    return std::make_unique<CurlClient>(options);
}

}  // namespace assetctl::http
