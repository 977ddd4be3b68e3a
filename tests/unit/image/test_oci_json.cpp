#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "image/image_error.hpp"
#include "image/oci_json.hpp"

using assetctl::image::check_oci_layout;
using assetctl::image::Descriptor;
using assetctl::image::ImageError;
using assetctl::image::JsonFile;
using assetctl::image::parse_diff_ids;
using assetctl::image::parse_image_manifest;
using assetctl::image::parse_manifests_array;
using assetctl::image::SourceContext;
using assetctl::registry::Digest;
using nlohmann::json;

namespace {

const SourceContext k_context{"image tarball 'x.tar'", "HINT"};

const std::string k_digest = Digest::sha256_of("blob").str();

template <typename Call>
std::string image_error(Call call) {
    try {
        call();
    } catch (const ImageError& e) {
        return e.what();
    }
    FAIL("no ImageError");
    return {};
}

json descriptor(const std::string& media_type = "application/vnd.oci.image.manifest.v1+json") {
    return {{"mediaType", media_type}, {"digest", k_digest}, {"size", 4}};
}

std::string index_error(const json& index) {
    return image_error([&] {
        const JsonFile file(k_context, index.dump(), "index.json", "index.json");
        (void)parse_manifests_array(file);
    });
}

Descriptor manifest_descriptor() {
    Descriptor out;
    out.media_type = "application/vnd.oci.image.manifest.v1+json";
    out.digest = Digest::sha256_of("manifest");
    out.where = "index.json manifests[0]";
    return out;
}

std::string manifest_error(const json& manifest) {
    return image_error(
        [&] { (void)parse_image_manifest(k_context, manifest.dump(), manifest_descriptor()); });
}

std::string diff_ids_error(const std::string& config, std::size_t layers = 1) {
    return image_error([&] { (void)parse_diff_ids(k_context, config, "c.json", layers); });
}

}  // namespace

TEST_CASE("index descriptors are parsed with their annotations, platform and place", "[oci_json]") {
    json entry = descriptor();
    entry["annotations"] = {{"org.opencontainers.image.ref.name", "v1"}, {"n", 1}};
    entry["platform"] = {{"os", "linux"}, {"architecture", "arm64"}, {"variant", "v8"}};
    const JsonFile file(k_context, json{{"manifests", {descriptor(), entry}}}.dump(), "index.json",
                        "index.json");
    const auto descriptors = parse_manifests_array(file);
    REQUIRE(descriptors.size() == 2);
    CHECK(descriptors[1].digest.str() == k_digest);
    CHECK(descriptors[1].size == 4);
    CHECK(descriptors[1].platform == "linux/arm64/v8");
    CHECK(descriptors[1].annotations ==
          std::map<std::string, std::string>{{"org.opencontainers.image.ref.name", "v1"}});
    CHECK(descriptors[1].where == "index.json manifests[1]");
    CHECK(assetctl::image::annotation_names(descriptors[1]) == std::vector<std::string>{"v1"});
}

TEST_CASE("index errors name the label, the file, the JSON path and the hint", "[oci_json]") {
    CHECK(index_error(json::array()) ==
          "image tarball 'x.tar': index.json is not a JSON object; HINT");
    CHECK(index_error(json::object()) ==
          "image tarball 'x.tar': index.json has no manifests array; HINT");
    CHECK(index_error({{"manifests", {1}}}) ==
          "image tarball 'x.tar': index.json manifests[0] is not a descriptor object; HINT");
    json entry = descriptor();
    entry.erase("mediaType");
    CHECK(index_error({{"manifests", {descriptor(), entry}}}) ==
          "image tarball 'x.tar': index.json manifests[1] has no mediaType; HINT");
    entry = descriptor();
    entry["digest"] = "sha256:abc";
    CHECK(index_error({{"manifests", {entry}}}) ==
          "image tarball 'x.tar': index.json manifests[0] has no valid digest "
          "(sha256:<64 lower-case hex digits>); HINT");
    entry = descriptor();
    entry["size"] = -1;
    CHECK(index_error({{"manifests", {entry}}}) ==
          "image tarball 'x.tar': index.json manifests[0] has no valid size "
          "(a non-negative integer); HINT");
}

TEST_CASE("a file that is not JSON is named with what it is", "[oci_json]") {
    CHECK_THAT(image_error([] { JsonFile(k_context, "{", "image index", "index.json"); }),
               Catch::StartsWith("image tarball 'x.tar': image index is not valid JSON (") &&
                   Catch::EndsWith("); HINT"));
}

TEST_CASE("image manifests: config and layers, checked against the descriptor", "[oci_json]") {
    const json good = {{"mediaType", manifest_descriptor().media_type},
                       {"config", descriptor("application/vnd.oci.image.config.v1+json")},
                       {"layers", {descriptor("application/vnd.oci.image.layer.v1.tar")}}};
    const auto parsed = parse_image_manifest(k_context, good.dump(), manifest_descriptor());
    CHECK(parsed.config.media_type == "application/vnd.oci.image.config.v1+json");
    REQUIRE(parsed.layers.size() == 1);
    const std::string name = "image manifest " + manifest_descriptor().digest.str();
    CHECK(parsed.layers[0].where == name + " layers[0]");

    json manifest = good;
    manifest["mediaType"] = "other";
    CHECK(manifest_error(manifest) == "image tarball 'x.tar': " + name +
                                          " says its mediaType is other but index.json "
                                          "manifests[0] says " +
                                          manifest_descriptor().media_type + "; HINT");
    manifest = good;
    manifest.erase("config");
    CHECK(manifest_error(manifest) ==
          "image tarball 'x.tar': " + name + " has no config descriptor; HINT");
    manifest = good;
    manifest["config"] = "x";
    CHECK(manifest_error(manifest) ==
          "image tarball 'x.tar': " + name + " config is not a descriptor object; HINT");
    manifest = good;
    manifest["layers"].push_back(json::object());
    CHECK(manifest_error(manifest) ==
          "image tarball 'x.tar': " + name + " layers[1] has no mediaType; HINT");
    manifest = good;
    manifest["layers"] = json::object();
    CHECK(manifest_error(manifest) ==
          "image tarball 'x.tar': " + name + " has no layers array; HINT");
}

TEST_CASE("image config diff_ids: digests, one per layer", "[oci_json]") {
    const std::string id = Digest::sha256_of("layer").str();
    const auto diff_ids =
        parse_diff_ids(k_context, R"({"rootfs":{"diff_ids":[")" + id + R"("]}})", "c.json", 1);
    REQUIRE(diff_ids.size() == 1);
    CHECK(diff_ids[0].str() == id);
    CHECK(diff_ids_error("[]") ==
          "image tarball 'x.tar': image config 'c.json' is not a JSON object; HINT");
    CHECK(diff_ids_error(R"({"os":"linux"})") ==
          "image tarball 'x.tar': image config 'c.json' has no rootfs object; HINT");
    CHECK(diff_ids_error(R"({"rootfs":{}})") ==
          "image tarball 'x.tar': image config 'c.json' has no rootfs.diff_ids array; HINT");
    CHECK(diff_ids_error(R"({"rootfs":{"diff_ids":[1]}})") ==
          "image tarball 'x.tar': image config 'c.json': rootfs.diff_ids[0] is 1, not a digest "
          "(sha256:<64 hex digits>); HINT");
    CHECK(diff_ids_error(R"({"rootfs":{"diff_ids":[]}})", 2) ==
          "image tarball 'x.tar': image config 'c.json' has 0 rootfs.diff_ids but the manifest "
          "lists 2 layers; they must match one to one; HINT");
}

TEST_CASE("oci-layout needs an imageLayoutVersion", "[oci_json]") {
    check_oci_layout(k_context, R"({"imageLayoutVersion":"1.0.0"})");
    CHECK(image_error([] { check_oci_layout(k_context, "{}"); }) ==
          "image tarball 'x.tar': oci-layout has no imageLayoutVersion; HINT");
    CHECK(image_error([] { check_oci_layout(k_context, "[]"); }) ==
          "image tarball 'x.tar': oci-layout has no imageLayoutVersion; HINT");
}
