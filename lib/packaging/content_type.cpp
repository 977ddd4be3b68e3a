#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>
#include <utility>

#include "packaging/zip_directory.hpp"

namespace assetctl::packaging {

namespace {

constexpr std::string_view k_unknown_type = "application/octet-stream";

// The answers of mime 3 (`new Mime(standard, other)`, the table cdk-assets 4.7.3 bundles and
// asks with mime.getType) for the extensions CDK apps upload. The cdk-assets comparison test
// (tests/integration/zip) asks the bundled table about every extension listed here.
constexpr std::array<std::pair<std::string_view, std::string_view>, 87> k_types{{
    {"7z", "application/x-7z-compressed"},
    {"aac", "audio/x-aac"},
    {"apng", "image/apng"},
    {"avi", "video/x-msvideo"},
    {"avif", "image/avif"},
    {"bin", "application/octet-stream"},
    {"bmp", "image/bmp"},
    {"bz2", "application/x-bzip2"},
    {"c", "text/x-c"},
    {"cjs", "application/node"},
    {"class", "application/java-vm"},
    {"conf", "text/plain"},
    {"cpp", "text/x-c"},
    {"crt", "application/x-x509-ca-cert"},
    {"css", "text/css"},
    {"csv", "text/csv"},
    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"eot", "application/vnd.ms-fontobject"},
    {"exe", "application/octet-stream"},
    {"flac", "audio/x-flac"},
    {"geojson", "application/geo+json"},
    {"gif", "image/gif"},
    {"gz", "application/gzip"},
    {"h", "text/x-c"},
    {"htm", "text/html"},
    {"html", "text/html"},
    {"ico", "image/vnd.microsoft.icon"},
    {"ini", "text/plain"},
    {"jar", "application/java-archive"},
    {"java", "text/x-java-source"},
    {"jpe", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"jpg", "image/jpeg"},
    {"js", "application/javascript"},
    {"json", "application/json"},
    {"json5", "application/json5"},
    {"jsonld", "application/ld+json"},
    {"jsx", "text/jsx"},
    {"log", "text/plain"},
    {"m4a", "audio/mp4"},
    {"map", "application/json"},
    {"md", "text/markdown"},
    {"mjs", "application/javascript"},
    {"mov", "video/quicktime"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"mpeg", "video/mpeg"},
    {"mpg", "video/mpeg"},
    {"oga", "audio/ogg"},
    {"ogg", "audio/ogg"},
    {"opus", "audio/ogg"},
    {"otf", "font/otf"},
    {"pdf", "application/pdf"},
    {"pem", "application/x-x509-ca-cert"},
    {"png", "image/png"},
    {"rar", "application/vnd.rar"},
    {"rtf", "application/rtf"},
    {"sh", "application/x-sh"},
    {"shtml", "text/html"},
    {"so", "application/octet-stream"},
    {"sql", "application/x-sql"},
    {"svg", "image/svg+xml"},
    {"tar", "application/x-tar"},
    {"text", "text/plain"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"toml", "application/toml"},
    {"ts", "video/mp2t"},  // mime's answer (MPEG transport stream), not TypeScript
    {"tsv", "text/tab-separated-values"},
    {"ttf", "font/ttf"},
    {"txt", "text/plain"},
    {"war", "application/java-archive"},
    {"wasm", "application/wasm"},
    {"wav", "audio/wav"},
    {"webm", "video/webm"},
    {"webmanifest", "application/manifest+json"},
    {"webp", "image/webp"},
    {"wmv", "video/x-ms-wmv"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"xhtml", "application/xhtml+xml"},
    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"xml", "application/xml"},
    {"xz", "application/x-xz"},
    {"yaml", "text/yaml"},
    {"yml", "text/yaml"},
    {"zip", "application/zip"},
}};

// mime.getType's reading of a name: the lower-cased text after the last dot of the file name,
// when something comes before that dot (".json" and "json" have no extension, "a.JSON" has).
std::string extension_of(const std::filesystem::path& file) {
    const std::string name = file.filename().string();
    const std::size_t dot = name.rfind('.');
    if (dot == std::string::npos || dot == 0) {
        return {};
    }
    std::string extension = name.substr(dot + 1);
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return extension;
}

}  // namespace

std::string content_type_for(const std::filesystem::path& file) {
    const std::string extension = extension_of(file);
    const auto it = std::find_if(k_types.begin(), k_types.end(),
                                 [&](const auto& entry) { return entry.first == extension; });
    return std::string(it == k_types.end() ? k_unknown_type : it->second);
}

}  // namespace assetctl::packaging
