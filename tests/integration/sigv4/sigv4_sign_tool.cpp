// Signs requests with assetctl::aws::sign for the botocore differential test
// (botocore_differential.py). Input: one JSON object per line on stdin:
//   {"method", "path", "query": [[key, value], ...], "headers": [[name, value], ...],
//    "body_base64", "payload_hash" (string or null), "access_key_id", "secret_access_key",
//    "session_token" (string or null), "region", "service", "time_ms" (ms since the epoch),
//    "add_content_sha256_header" (bool)}
// Output: one JSON object per input line, in order:
//   {"authorization", "canonical_request", "string_to_sign", "headers": [[name, value], ...]}
// or {"error": message} when signing throws. Exit status 0 unless the input is unreadable.
// A test tool: it prints canonical requests, which contain session tokens.

#include <chrono>
#include <cstdint>
#include <exception>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "aws/sigv4.hpp"

namespace {

using nlohmann::json;

std::string base64_decode(const std::string& text) {
    static constexpr std::string_view kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (const char c : text) {
        if (c == '=') {
            break;
        }
        const std::size_t value = kAlphabet.find(c);
        if (value == std::string_view::npos) {
            throw std::runtime_error("invalid base64 in body_base64");
        }
        buffer = (buffer << 6U) | static_cast<std::uint32_t>(value);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((buffer >> static_cast<unsigned>(bits)) & 0xFFU);
        }
    }
    return out;
}

std::optional<std::string> optional_string(const json& object, const char* key) {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) {
        return std::nullopt;
    }
    return it->get<std::string>();
}

json sign_one(const json& input, assetctl::aws::SigningKeyCache& cache) {
    assetctl::aws::Request request;
    request.method = input.at("method").get<std::string>();
    request.path = input.at("path").get<std::string>();
    for (const auto& pair : input.at("query")) {
        request.query.push_back({pair.at(0).get<std::string>(), pair.at(1).get<std::string>()});
    }
    for (const auto& pair : input.at("headers")) {
        request.headers.push_back({pair.at(0).get<std::string>(), pair.at(1).get<std::string>()});
    }
    request.body = base64_decode(input.at("body_base64").get<std::string>());
    request.payload_hash = optional_string(input, "payload_hash");

    assetctl::aws::Credentials credentials;
    credentials.access_key_id = input.at("access_key_id").get<std::string>();
    credentials.secret_access_key = input.at("secret_access_key").get<std::string>();
    credentials.session_token = optional_string(input, "session_token");

    assetctl::aws::SigningOptions options;
    options.add_content_sha256_header = input.at("add_content_sha256_header").get<bool>();

    const std::chrono::system_clock::time_point time{
        std::chrono::milliseconds{input.at("time_ms").get<std::int64_t>()}};

    const assetctl::aws::SigningDetails details =
        assetctl::aws::sign(request, credentials, input.at("region").get<std::string>(),
                            input.at("service").get<std::string>(), time, options, &cache);

    json headers = json::array();
    for (const auto& header : request.headers) {
        headers.push_back(json::array({header.name, header.value}));
    }
    return json{{"authorization", details.authorization},
                {"canonical_request", details.canonical_request},
                {"string_to_sign", details.string_to_sign},
                {"headers", headers}};
}

}  // namespace

int main() {
    assetctl::aws::SigningKeyCache cache(4);  // small, so that eviction is exercised too
    std::string line;
    while (std::getline(std::cin, line)) {
        if (line.empty()) {
            continue;
        }
        json output;
        try {
            output = sign_one(json::parse(line), cache);
        } catch (const json::exception& e) {
            std::cerr << "sigv4_sign_tool: bad input line: " << e.what() << "\n";
            return 2;
        } catch (const std::exception& e) {
            output = json{{"error", e.what()}};
        }
        std::cout << output.dump() << "\n";
    }
    std::cout.flush();
    return std::cout ? 0 : 1;
}
