#include <fcntl.h>
#include <map>
#include <string>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "image/image_error.hpp"
#include "image/source_image.hpp"
#include "image/tar_builder.hpp"
#include "registry/reference.hpp"
#include "support/temp_dir.hpp"

using assetctl::image::FileRange;
using assetctl::image::ImageError;
using assetctl::image::ImageSelector;
using assetctl::image::read_source_image;
using assetctl::image::SourceFormat;
using assetctl::image::SourceImage;
using assetctl::image::SourceLayer;
using assetctl::registry::Digest;
using assetctl::test::gzip_stored;
using assetctl::test::image_error;
using assetctl::test::pread_range;
using assetctl::test::TarBuilder;
using assetctl::test::TempDir;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

constexpr const char* k_oci_manifest = "application/vnd.oci.image.manifest.v1+json";
constexpr const char* k_oci_index = "application/vnd.oci.image.index.v1+json";
constexpr const char* k_oci_config = "application/vnd.oci.image.config.v1+json";
constexpr const char* k_oci_layer = "application/vnd.oci.image.layer.v1.tar";
constexpr const char* k_oci_layer_gzip = "application/vnd.oci.image.layer.v1.tar+gzip";

std::string blob_path(const Digest& digest) {
    return "blobs/" + digest.algorithm() + "/" + digest.hex();
}

struct TestLayer {
    std::string tar;     // uncompressed
    std::string stored;  // as stored in the source (tar or gzip of it)
    Digest diff_id;
    Digest digest;  // of `stored`
    std::string media_type;
};

TestLayer make_layer(const std::string& seed, bool gzip) {
    TestLayer layer;
    layer.tar = TarBuilder()
                    .directory("etc/")
                    .file("etc/" + seed, "content of " + seed + std::string(600, 'x'))
                    .bytes();
    layer.stored = gzip ? gzip_stored(layer.tar) : layer.tar;
    layer.diff_id = Digest::sha256_of(layer.tar);
    layer.digest = Digest::sha256_of(layer.stored);
    layer.media_type = gzip ? k_oci_layer_gzip : k_oci_layer;
    return layer;
}

json descriptor(const std::string& media_type, const std::string& bytes) {
    return {{"mediaType", media_type},
            {"digest", Digest::sha256_of(bytes).str()},
            {"size", bytes.size()}};
}

struct TestImage {
    std::vector<TestLayer> layers;
    std::string config;
    Digest config_digest;
    std::string manifest;  // OCI image manifest
    Digest manifest_digest;
};

TestImage make_image(const std::string& seed, std::size_t layer_count, bool gzip) {
    TestImage image;
    json diff_ids = json::array();
    json layers = json::array();
    for (std::size_t i = 0; i < layer_count; ++i) {
        image.layers.push_back(make_layer(seed + "-" + std::to_string(i), gzip));
        diff_ids.push_back(image.layers.back().diff_id.str());
        layers.push_back(descriptor(image.layers.back().media_type, image.layers.back().stored));
    }
    image.config = json{{"architecture", "amd64"},
                        {"os", "linux"},
                        {"config", {{"Cmd", {"/bin/" + seed}}}},
                        {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}}
                       .dump();
    image.config_digest = Digest::sha256_of(image.config);
    image.manifest = json{
        {"schemaVersion", 2},
        {"mediaType", k_oci_manifest},
        {"config", descriptor(k_oci_config, image.config)},
        {"layers",
         layers}}.dump();
    image.manifest_digest = Digest::sha256_of(image.manifest);
    return image;
}

json manifest_descriptor(const TestImage& image, const std::vector<std::string>& names = {}) {
    json out = descriptor(k_oci_manifest, image.manifest);
    if (!names.empty()) {
        out["annotations"] = json::object();
        out["annotations"]["org.opencontainers.image.ref.name"] = names[0];
        if (names.size() > 1) {
            out["annotations"]["io.containerd.image.name"] = names[1];
        }
    }
    return out;
}

// Files of a source, name -> bytes, written as a tar (in this order) or into a folder.
using Files = std::vector<std::pair<std::string, std::string>>;

// Replaces the file called `name` (or adds it).
void set_file(Files& files, const std::string& name, const std::string& bytes) {
    for (auto& file : files) {
        if (file.first == name) {
            file.second = bytes;
            return;
        }
    }
    files.emplace_back(name, bytes);
}

void remove_file(Files& files, const std::string& name) {
    files.erase(std::remove_if(files.begin(), files.end(),
                               [&](const auto& file) { return file.first == name; }),
                files.end());
}

std::filesystem::path write_tar(const TempDir& temp, const Files& files,
                                const std::string& name = "image.tar", bool gzip = false) {
    TarBuilder builder;
    for (const auto& [path, bytes] : files) {
        builder.file(path, bytes);
    }
    return temp.write(name, gzip ? gzip_stored(builder.bytes()) : builder.bytes());
}

std::filesystem::path write_folder(const TempDir& temp, const Files& files,
                                   const std::string& name = "layout") {
    for (const auto& [path, bytes] : files) {
        temp.write(std::filesystem::path(name) / path, bytes);
    }
    return temp.path() / name;
}

void add_blob(Files& files, const std::string& bytes) {
    const std::string path = blob_path(Digest::sha256_of(bytes));
    for (const auto& file : files) {
        if (file.first == path) {
            return;
        }
    }
    files.emplace_back(path, bytes);
}

// An OCI image layout holding `images`, index.json listing `index_entries`.
Files oci_files(const std::vector<TestImage>& images, const json& index_entries) {
    Files files{{"oci-layout", R"({"imageLayoutVersion":"1.0.0"})"}};
    files.emplace_back("index.json",
                       json{{"schemaVersion", 2}, {"manifests", index_entries}}.dump());
    for (const auto& image : images) {
        for (const auto& layer : image.layers) {
            add_blob(files, layer.stored);
        }
        add_blob(files, image.config);
        add_blob(files, image.manifest);
    }
    return files;
}

json docker_manifest_entry(const std::string& config, const std::vector<std::string>& layers,
                           const std::vector<std::string>& tags) {
    json entry{{"Config", config}, {"Layers", layers}};
    entry["RepoTags"] = tags.empty() ? json(nullptr) : json(tags);
    return entry;
}

// `docker save` before docker 25: <id>.json configs, <id>/layer.tar, manifest.json.
Files legacy_docker_files(
    const std::vector<std::pair<TestImage, std::vector<std::string>>>& images) {
    Files files;
    json manifest = json::array();
    for (const auto& [image, tags] : images) {
        std::vector<std::string> layer_paths;
        for (const auto& layer : image.layers) {
            const std::string id = layer.diff_id.hex();
            files.emplace_back(id + "/VERSION", "1.0");
            files.emplace_back(id + "/json", "{}");
            files.emplace_back(id + "/layer.tar", layer.stored);
            layer_paths.push_back(id + "/layer.tar");
        }
        const std::string config_path = image.config_digest.hex() + ".json";
        files.emplace_back(config_path, image.config);
        manifest.push_back(docker_manifest_entry(config_path, layer_paths, tags));
    }
    files.emplace_back("manifest.json", manifest.dump());
    files.emplace_back("repositories", "{}");
    return files;
}

// docker 25+ `docker save`: an OCI layout with uncompressed layers, manifest.json naming blobs,
// and the legacy <id>/layer.tar paths as symlinks into blobs/.
std::string docker25_tar(const TestImage& image, const std::vector<std::string>& tags,
                         bool legacy_paths_in_manifest = false, bool nested_index = false) {
    TarBuilder builder;
    builder.directory("blobs/").directory("blobs/sha256/");
    for (const auto& layer : image.layers) {
        builder.file(blob_path(layer.digest), layer.stored);
    }
    builder.file(blob_path(image.config_digest), image.config);
    builder.file(blob_path(image.manifest_digest), image.manifest);
    json top = manifest_descriptor(image, {tags.empty() ? "" : tags[0]});
    if (nested_index) {
        const TestImage attestation = make_image("attestation", 1, false);
        builder.file(blob_path(attestation.layers[0].digest), attestation.layers[0].stored);
        builder.file(blob_path(attestation.config_digest), attestation.config);
        builder.file(blob_path(attestation.manifest_digest), attestation.manifest);
        json platform_manifest = manifest_descriptor(image);
        platform_manifest["platform"] = {{"os", "linux"}, {"architecture", "amd64"}};
        json attestation_manifest = manifest_descriptor(attestation);
        attestation_manifest["annotations"] = {
            {"vnd.docker.reference.type", "attestation-manifest"},
            {"vnd.docker.reference.digest", image.manifest_digest.str()}};
        const std::string index = json{{"schemaVersion", 2},
                                       {"mediaType", k_oci_index},
                                       {"manifests", {platform_manifest, attestation_manifest}}}
                                      .dump();
        builder.file(blob_path(Digest::sha256_of(index)), index);
        top = descriptor(k_oci_index, index);
    }
    std::vector<std::string> layer_paths;
    for (const auto& layer : image.layers) {
        const std::string id = layer.diff_id.hex();
        builder.directory(id + "/");
        builder.symlink(id + "/layer.tar", "../" + blob_path(layer.digest));
        layer_paths.push_back(legacy_paths_in_manifest ? id + "/layer.tar"
                                                       : blob_path(layer.digest));
    }
    builder.file("index.json", json{{"schemaVersion", 2}, {"manifests", {top}}}.dump());
    builder.file(
        "manifest.json",
        json::array({docker_manifest_entry(blob_path(image.config_digest), layer_paths, tags)})
            .dump());
    builder.file("oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
    builder.file("repositories", "{}");
    return builder.bytes();
}

void check_layers(const SourceImage& image, const TestImage& expected) {
    REQUIRE(image.layers.size() == expected.layers.size());
    for (std::size_t i = 0; i < expected.layers.size(); ++i) {
        INFO("layer " << i);
        CHECK(pread_range(image.layers[i].bytes) == expected.layers[i].stored);
        CHECK(image.layers[i].diff_id == expected.layers[i].diff_id);
    }
    CHECK(image.config == expected.config);
    CHECK(image.config_digest == expected.config_digest);
}

}  // namespace

TEST_CASE("to_string names every source format", "[source_image]") {
    CHECK(std::string(to_string(SourceFormat::docker_archive)) == "docker-archive");
    CHECK(std::string(to_string(SourceFormat::docker_archive_oci)) == "docker-archive-oci");
    CHECK(std::string(to_string(SourceFormat::oci_archive)) == "oci-archive");
    CHECK(std::string(to_string(SourceFormat::oci_layout)) == "oci-layout");
}

TEST_CASE("a legacy docker-save tarball with two layers", "[source_image]") {
    TempDir temp;
    const TestImage expected = make_image("app", 2, false);
    const auto gzip = GENERATE(false, true);
    INFO("gzip-compressed tarball: " << gzip);
    const auto path = write_tar(temp, legacy_docker_files({{expected, {"app:latest", "app:v1"}}}),
                                "image.tar", gzip);
    const auto spool = temp.mkdir("spool");
    const SourceImage image = read_source_image(path, {}, spool);

    CHECK(image.format == SourceFormat::docker_archive);
    check_layers(image, expected);
    CHECK(image.tags == std::vector<std::string>{"app:latest", "app:v1"});
    CHECK(image.config_media_type.empty());
    CHECK_FALSE(image.manifest.has_value());
    CHECK(image.manifest_media_type.empty());
    for (const auto& layer : image.layers) {
        CHECK(layer.compression == SourceLayer::Compression::none);
        CHECK_FALSE(layer.digest.has_value());
        CHECK(layer.media_type.empty());
        CHECK(layer.bytes.file == (gzip ? image.layers[0].bytes.file : path));
        if (gzip) {
            CHECK(layer.bytes.file.parent_path() == spool);
        }
    }
}

TEST_CASE("layer compression comes from the magic bytes", "[source_image]") {
    TempDir temp;
    TestImage image = make_image("mixed", 3, false);
    image.layers[1].stored = gzip_stored(image.layers[1].tar);
    image.layers[2].stored = std::string("\x28\xb5\x2f\xfd", 4) + "not really zstd";
    const auto path = write_tar(temp, legacy_docker_files({{image, {"mixed:1"}}}));
    const SourceImage read = read_source_image(path, {}, temp.mkdir("spool"));
    REQUIRE(read.layers.size() == 3);
    CHECK(read.layers[0].compression == SourceLayer::Compression::none);
    CHECK(read.layers[1].compression == SourceLayer::Compression::gzip);
    CHECK(read.layers[2].compression == SourceLayer::Compression::zstd);
    CHECK(pread_range(read.layers[2].bytes) == image.layers[2].stored);
}

TEST_CASE("a docker 25 save: OCI layout inside, legacy paths as symlinks", "[source_image]") {
    TempDir temp;
    const TestImage expected = make_image("d25", 2, false);
    const bool legacy_paths = GENERATE(false, true);
    const bool nested_index = GENERATE(false, true);
    const bool gzip = GENERATE(false, true);
    INFO("legacy paths " << legacy_paths << ", nested index " << nested_index << ", gzip " << gzip);
    const std::string tar = docker25_tar(expected, {"d25:latest"}, legacy_paths, nested_index);
    const auto path = temp.write("image.tar", gzip ? gzip_stored(tar) : tar);
    const SourceImage image = read_source_image(path, {}, temp.mkdir("spool"));

    CHECK(image.format == SourceFormat::docker_archive_oci);
    check_layers(image, expected);
    CHECK(image.tags == std::vector<std::string>{"d25:latest"});
    REQUIRE(image.manifest.has_value());
    CHECK(*image.manifest == expected.manifest);
    CHECK(image.manifest_media_type == k_oci_manifest);
    CHECK(image.config_media_type == k_oci_config);
    for (std::size_t i = 0; i < image.layers.size(); ++i) {
        REQUIRE(image.layers[i].digest.has_value());
        CHECK(*image.layers[i].digest == expected.layers[i].digest);
        CHECK(image.layers[i].media_type == k_oci_layer);
        CHECK(image.layers[i].compression == SourceLayer::Compression::none);
    }
}

TEST_CASE("a docker 25 save whose OCI manifest does not match keeps manifest.json's view",
          "[source_image]") {
    TempDir temp;
    const TestImage expected = make_image("d25", 2, false);
    const TestImage other = make_image("other", 1, false);
    // manifest.json describes `expected`, index.json only `other`.
    Files files = oci_files({other}, json::array({manifest_descriptor(other, {"other"})}));
    files.emplace_back(blob_path(expected.config_digest), expected.config);
    std::vector<std::string> layer_paths;
    for (const auto& layer : expected.layers) {
        add_blob(files, layer.stored);
        layer_paths.push_back(blob_path(layer.digest));
    }
    files.emplace_back("manifest.json",
                       json::array({docker_manifest_entry(blob_path(expected.config_digest),
                                                          layer_paths, {"d25:latest"})})
                           .dump());
    const SourceImage image = read_source_image(write_tar(temp, files), {}, temp.mkdir("spool"));
    CHECK(image.format == SourceFormat::docker_archive_oci);
    check_layers(image, expected);
    CHECK_FALSE(image.manifest.has_value());
    CHECK_FALSE(image.layers[0].digest.has_value());
}

TEST_CASE("an OCI archive and an OCI layout folder", "[source_image]") {
    TempDir temp;
    const TestImage expected = make_image("oci", 2, true);
    const Files files =
        oci_files({expected},
                  json::array({manifest_descriptor(expected, {"v1", "example.com/team/oci:v1"})}));
    const auto kind = GENERATE(as<std::string>{}, "tar", "gzip tar", "folder");
    INFO(kind);
    std::filesystem::path path;
    SourceFormat format = SourceFormat::oci_archive;
    if (kind == "folder") {
        path = write_folder(temp, files);
        format = SourceFormat::oci_layout;
    } else {
        path = write_tar(temp, files, "oci.tar", kind == "gzip tar");
    }
    const SourceImage image = read_source_image(path, {}, temp.mkdir("spool"));
    CHECK(image.format == format);
    check_layers(image, expected);
    CHECK(image.tags == std::vector<std::string>{"v1", "example.com/team/oci:v1"});
    REQUIRE(image.manifest.has_value());
    CHECK(*image.manifest == expected.manifest);
    CHECK(image.manifest_media_type == k_oci_manifest);
    CHECK(image.config_media_type == k_oci_config);
    for (std::size_t i = 0; i < image.layers.size(); ++i) {
        CHECK(image.layers[i].compression == SourceLayer::Compression::gzip);
        CHECK(image.layers[i].digest == expected.layers[i].digest);
        CHECK(image.layers[i].media_type == k_oci_layer_gzip);
        if (kind == "folder") {
            CHECK(image.layers[i].bytes.offset == 0);
            CHECK(image.layers[i].bytes.file.filename() == expected.layers[i].digest.hex());
        }
    }
}

TEST_CASE("choosing among several images of a docker-save tarball", "[source_image]") {
    TempDir temp;
    const TestImage one = make_image("one", 1, false);
    const TestImage two = make_image("two", 1, false);
    const TestImage three = make_image("three", 1, false);
    const auto path = write_tar(
        temp,
        legacy_docker_files({{one, {"app:v1", "other:latest"}}, {two, {"app:v2"}}, {three, {}}}));
    const auto spool = temp.mkdir("spool");
    const auto pick = [&](ImageSelector selector) {
        return read_source_image(path, selector, spool).config_digest;
    };
    CHECK(pick({"app:v2", false}) == two.config_digest);
    CHECK(pick({"app:v1", false}) == one.config_digest);
    CHECK(pick({"v2", false}) == two.config_digest);  // the part after the last ':'
    CHECK(pick({"latest", false}) == one.config_digest);
    CHECK(pick({"v1", true}) == one.config_digest);  // a tag wins over last_loaded
    CHECK(pick({std::nullopt, true}) == three.config_digest);

    CHECK_THAT(image_error([&] {
                   pick({"app:v3", false});
               }),
               Contains("image.tar") && Contains("'app:v3'") && Contains("app:v1") &&
                   Contains("app:v2") && Contains("untagged image"));
    CHECK_THAT(image_error([&] {
                   pick({std::nullopt, false});
               }),
               Contains("3 images") && Contains("app:v1") && Contains("app:v2"));
}

TEST_CASE("an ambiguous short tag is refused, the full name is not", "[source_image]") {
    TempDir temp;
    const TestImage a = make_image("a", 1, false);
    const TestImage b = make_image("b", 1, false);
    const auto path = write_tar(temp, legacy_docker_files({{a, {"a:latest"}}, {b, {"b:latest"}}}));
    const auto spool = temp.mkdir("spool");
    CHECK_THAT(image_error([&] {
                   read_source_image(path, {"latest", true}, spool);
               }),
               Contains("matches several images") && Contains("a:latest") && Contains("b:latest"));
    CHECK(read_source_image(path, {"b:latest", false}, spool).config_digest == b.config_digest);
}

TEST_CASE("a single image needs no selector and is picked whatever the tag part",
          "[source_image]") {
    TempDir temp;
    const TestImage a = make_image("a", 1, false);
    const auto path = write_tar(temp, legacy_docker_files({{a, {}}}));
    const auto spool = temp.mkdir("spool");
    const SourceImage image = read_source_image(path, {}, spool);
    CHECK(image.tags.empty());
    CHECK(image.config_digest == a.config_digest);
    CHECK_THAT(image_error([&] {
                   read_source_image(path, {"latest", false}, spool);
               }),
               Contains("no image named 'latest'"));
}

TEST_CASE("choosing among several images of an OCI layout", "[source_image]") {
    TempDir temp;
    const TestImage one = make_image("one", 1, true);
    const TestImage two = make_image("two", 1, true);
    const auto path = write_tar(
        temp,
        oci_files({one, two},
                  json::array({manifest_descriptor(one, {"v1", "docker.io/library/app:v1"}),
                               manifest_descriptor(two, {"v2", "docker.io/library/app:v2"})})));
    const auto spool = temp.mkdir("spool");
    const auto pick = [&](ImageSelector selector) {
        return read_source_image(path, selector, spool).config_digest;
    };
    CHECK(pick({"v2", false}) == two.config_digest);
    CHECK(pick({"docker.io/library/app:v1", false}) == one.config_digest);
    CHECK(pick({std::nullopt, true}) == two.config_digest);  // the last index entry
    CHECK_THAT(image_error([&] {
                   pick({std::nullopt, false});
               }),
               Contains("2 images") && Contains("v1") && Contains("v2"));
    CHECK_THAT(image_error([&] { pick({"v3", false}); }), Contains("'v3'") && Contains("v1"));
}

TEST_CASE("a multi-platform index is refused, a single platform with attestations is not",
          "[source_image]") {
    TempDir temp;
    const TestImage amd64 = make_image("amd64", 1, true);
    const TestImage arm64 = make_image("arm64", 1, true);
    const TestImage attestation = make_image("attestation", 1, false);
    json amd64_descriptor = manifest_descriptor(amd64);
    amd64_descriptor["platform"] = {{"os", "linux"}, {"architecture", "amd64"}};
    json arm64_descriptor = manifest_descriptor(arm64);
    arm64_descriptor["platform"] = {{"os", "linux"}, {"architecture", "arm64"}, {"variant", "v8"}};
    json attestation_descriptor = manifest_descriptor(attestation);
    attestation_descriptor["annotations"] = {{"vnd.docker.reference.type", "attestation-manifest"}};

    const auto index_with = [](const json& manifests) {
        return json{{"schemaVersion", 2}, {"mediaType", k_oci_index}, {"manifests", manifests}}
            .dump();
    };
    const auto source_with_index = [&](const std::string& index_bytes) {
        Files files =
            oci_files({amd64, arm64, attestation}, json::array({[&] {
                          json d = descriptor(k_oci_index, index_bytes);
                          d["annotations"] = {{"org.opencontainers.image.ref.name", "multi"}};
                          return d;
                      }()}));
        add_blob(files, index_bytes);
        return files;
    };
    const auto spool = temp.mkdir("spool");

    SECTION("two platforms") {
        const auto path = write_tar(
            temp, source_with_index(index_with(
                      json::array({amd64_descriptor, arm64_descriptor, attestation_descriptor}))));
        CHECK_THAT(image_error([&] { read_source_image(path, {}, spool); }),
                   Contains("multi-platform images are not supported") &&
                       Contains("choose one platform") && Contains("linux/amd64") &&
                       Contains("linux/arm64/v8") && Contains("'multi'"));
    }
    SECTION("an index inside the index") {
        const std::string inner = index_with(json::array({amd64_descriptor}));
        Files files = source_with_index(
            index_with(json::array({descriptor(k_oci_index, inner), attestation_descriptor})));
        add_blob(files, inner);
        CHECK_THAT(image_error([&] { read_source_image(write_folder(temp, files), {}, spool); }),
                   Contains("multi-platform"));
    }
    SECTION("one platform plus its attestation manifest") {
        const auto path = write_folder(
            temp,
            source_with_index(index_with(json::array({attestation_descriptor, amd64_descriptor}))));
        const SourceImage image = read_source_image(path, {"multi", false}, spool);
        CHECK(image.format == SourceFormat::oci_layout);
        check_layers(image, amd64);
        CHECK(image.manifest == amd64.manifest);
        CHECK(image.tags == std::vector<std::string>{"multi"});
    }
}

TEST_CASE("docker-save inconsistencies are refused with the file named", "[source_image]") {
    TempDir temp;
    const TestImage image = make_image("bad", 2, false);
    Files files = legacy_docker_files({{image, {"bad:1"}}});
    const auto set = [&](const std::string& name, const std::string& bytes) {
        set_file(files, name, bytes);
    };
    const auto remove = [&](const std::string& name) { remove_file(files, name); };
    const std::string config_path = image.config_digest.hex() + ".json";
    const std::string layer0 = image.layers[0].diff_id.hex() + "/layer.tar";
    const std::string layer1 = image.layers[1].diff_id.hex() + "/layer.tar";
    std::vector<std::string> expected;
    SECTION("missing config") {
        remove(config_path);
        expected = {"Config", config_path, "not in the tarball"};
    }
    SECTION("missing layer") {
        remove(layer1);
        expected = {"Layers[1]", layer1, "not in the tarball"};
    }
    SECTION("fewer diff_ids than layers") {
        set(config_path, R"({"rootfs":{"type":"layers","diff_ids":[")" +
                             image.layers[0].diff_id.str() + R"("]}})");
        expected = {"1 rootfs.diff_ids", "2 layers"};
    }
    SECTION("a diff_id that is not a digest") {
        set(config_path, R"({"rootfs":{"diff_ids":["sha256:abc", "sha256:def"]}})");
        expected = {"rootfs.diff_ids[0]", "not a digest"};
    }
    SECTION("config without rootfs") {
        set(config_path, R"({"os":"linux"})");
        expected = {config_path, "rootfs"};
    }
    SECTION("config not JSON") {
        set(config_path, "{not json");
        expected = {config_path, "not valid JSON"};
    }
    SECTION("manifest.json not JSON") {
        set("manifest.json", "[{");
        expected = {"manifest.json", "not valid JSON"};
    }
    SECTION("manifest.json empty array") {
        set("manifest.json", "[]");
        expected = {"manifest.json", "non-empty JSON array"};
    }
    SECTION("manifest.json without Layers") {
        set("manifest.json", json::array({{{"Config", config_path}}}).dump());
        expected = {"manifest.json[0].Layers"};
    }
    SECTION("manifest.json with RepoTags that are not strings") {
        set("manifest.json",
            json::array(
                {{{"Config", config_path}, {"RepoTags", {1}}, {"Layers", {layer0, layer1}}}})
                .dump());
        expected = {"manifest.json[0].RepoTags"};
    }
    SECTION("a layer path leaving the tarball") {
        set("manifest.json",
            json::array({{{"Config", config_path}, {"Layers", {layer0, "../../etc/passwd"}}}})
                .dump());
        expected = {"Layers[1]", "not a relative path"};
    }
    const auto message = image_error(
        [&] { read_source_image(write_tar(temp, files, "bad.tar"), {}, temp.mkdir("spool")); });
    CHECK_THAT(message, Contains("bad.tar") && Contains("docker save"));
    for (const auto& part : expected) {
        CHECK_THAT(message, Contains(part));
    }
}

TEST_CASE("OCI inconsistencies are refused with the file named", "[source_image]") {
    // Before the sections: Catch2 v2 cannot have a GENERATE after a SECTION.
    const bool folder = GENERATE(false, true);
    TempDir temp;
    TestImage image = make_image("bad", 2, true);
    json index_entry = manifest_descriptor(image, {"bad"});
    Files files;
    std::vector<std::string> expected;
    const auto build = [&] { files = oci_files({image}, json::array({index_entry})); };
    const auto set = [&](const std::string& name, const std::string& bytes) {
        set_file(files, name, bytes);
    };
    const auto remove = [&](const std::string& name) { remove_file(files, name); };
    build();
    SECTION("manifest size differs from the descriptor") {
        index_entry["size"] = image.manifest.size() + 1;
        build();
        expected = {"image manifest", std::to_string(image.manifest.size()) + " bytes",
                    "index.json manifests[0]"};
    }
    SECTION("manifest content does not match its digest") {
        std::string corrupt = image.manifest;
        corrupt[corrupt.size() - 2] = ' ';
        set(blob_path(image.manifest_digest), corrupt);
        expected = {"does not match its digest", image.manifest_digest.hex()};
    }
    SECTION("config content does not match its digest") {
        std::string corrupt = image.config;
        corrupt[1] = ' ';
        set(blob_path(image.config_digest), corrupt);
        expected = {"image config", "does not match its digest"};
    }
    SECTION("a layer blob with another size") {
        set(blob_path(image.layers[1].digest), image.layers[1].stored + "x");
        expected = {"layer", image.layers[1].digest.hex(), "layers[1]"};
    }
    SECTION("a missing layer blob") {
        remove(blob_path(image.layers[0].digest));
        expected = {"layer", "is missing", image.layers[0].digest.hex()};
    }
    SECTION("a missing manifest blob") {
        remove(blob_path(image.manifest_digest));
        expected = {"image manifest", "is missing"};
    }
    SECTION("diff_ids count mismatch") {
        image.config = R"({"rootfs":{"type":"layers","diff_ids":[]}})";
        image.config_digest = Digest::sha256_of(image.config);
        json manifest = json::parse(image.manifest);
        manifest["config"] = descriptor(k_oci_config, image.config);
        image.manifest = manifest.dump();
        image.manifest_digest = Digest::sha256_of(image.manifest);
        index_entry = manifest_descriptor(image, {"bad"});
        build();
        expected = {"0 rootfs.diff_ids", "2 layers"};
    }
    SECTION("an invalid digest in index.json") {
        index_entry["digest"] = "sha256:../../../etc/passwd";
        build();
        expected = {"index.json manifests[0]", "no valid digest"};
    }
    SECTION("a sha512 digest") {
        index_entry["digest"] = "sha512:" + std::string(128, 'a');
        build();
        expected = {"sha512", "only sha256"};
    }
    SECTION("oci-layout without imageLayoutVersion") {
        set("oci-layout", "{}");
        expected = {"imageLayoutVersion"};
    }
    SECTION("index.json without manifests") {
        set("index.json", R"({"schemaVersion":2})");
        expected = {"index.json", "manifests"};
    }
    SECTION("index.json listing no image") {
        set("index.json", json{{"manifests",
                                {{{"mediaType", "application/vnd.example+json"},
                                  {"digest", image.manifest_digest.str()},
                                  {"size", image.manifest.size()}}}}}
                              .dump());
        expected = {"no image manifest"};
    }
    const auto path =
        folder ? write_folder(temp, files, "bad-layout") : write_tar(temp, files, "bad-oci.tar");
    const auto message = image_error([&] { read_source_image(path, {}, temp.mkdir("spool")); });
    CHECK_THAT(message, Contains(folder ? "bad-layout" : "bad-oci.tar"));
    for (const auto& part : expected) {
        CHECK_THAT(message, Contains(part));
    }
}

TEST_CASE("an OCI layout folder refuses symlinks leading outside it", "[source_image]") {
    TempDir temp;
    const TestImage image = make_image("links", 1, true);
    const auto path =
        write_folder(temp, oci_files({image}, json::array({manifest_descriptor(image)})));
    const auto spool = temp.mkdir("spool");
    const auto blob = path / blob_path(image.layers[0].digest);
    SECTION("a blob that is a symlink outside") {
        const auto outside = temp.write("outside/blob", image.layers[0].stored);
        std::filesystem::remove(blob);
        std::filesystem::create_symlink(outside, blob);
        CHECK_THAT(image_error([&] { read_source_image(path, {}, spool); }),
                   Contains("outside the layout") && Contains(image.layers[0].digest.hex()));
    }
    SECTION("the blobs folder is a symlink outside") {
        std::filesystem::rename(path / "blobs", temp.path() / "elsewhere");
        std::filesystem::create_directory_symlink(temp.path() / "elsewhere", path / "blobs");
        CHECK_THAT(image_error([&] { read_source_image(path, {}, spool); }),
                   Contains("outside the layout"));
    }
    SECTION("a symlink inside the layout is fine") {
        const auto moved = path / "store" / "layer";
        std::filesystem::create_directories(moved.parent_path());
        std::filesystem::rename(blob, moved);
        std::filesystem::create_symlink("../../store/layer", blob);
        const SourceImage read = read_source_image(path, {}, spool);
        CHECK(pread_range(read.layers[0].bytes) == image.layers[0].stored);
    }
}

TEST_CASE("sources that are neither docker-save nor OCI are refused", "[source_image]") {
    TempDir temp;
    const auto spool = temp.mkdir("spool");
    CHECK_THAT(
        image_error([&] {
            read_source_image(write_tar(temp, {{"hello.txt", "hi"}}, "plain.tar"), {}, spool);
        }),
        Contains("plain.tar") && Contains("not a docker-save tarball or OCI layout"));
    CHECK_THAT(
        image_error([&] {
            read_source_image(write_tar(temp, {{"folder/manifest.json", "[]"}}, "nested.tar"), {},
                              spool);
        }),
        Contains("not a docker-save tarball or OCI layout") && Contains("folder/manifest.json"));
    CHECK_THAT(
        image_error([&] {
            read_source_image(write_tar(temp, {{"oci-layout", "{}"}}, "half.tar"), {}, spool);
        }),
        Contains("not a docker-save tarball or OCI layout"));
    CHECK_THAT(image_error([&] { read_source_image(temp.mkdir("empty-folder"), {}, spool); }),
               Contains("empty-folder") && Contains("not a docker-save tarball or OCI layout"));
    CHECK_THAT(image_error([&] { read_source_image(temp.path() / "nothing.tar", {}, spool); }),
               Contains("nothing.tar") && Contains("does not exist"));
    CHECK_THAT(image_error([&] {
                   read_source_image(
                       write_folder(temp, {{"oci-layout", R"({"imageLayoutVersion":"1.0.0"})"}}),
                       {}, spool);
               }),
               Contains("index.json"));
}

TEST_CASE("a hostile tarball is refused before any image is read", "[source_image]") {
    TempDir temp;
    const TestImage image = make_image("evil", 1, false);
    TarBuilder builder;
    for (const auto& [name, bytes] : legacy_docker_files({{image, {"evil:1"}}})) {
        builder.file(name, bytes);
    }
    builder.symlink("escape", "../../../etc/passwd");
    const auto path = temp.write("evil.tar", builder.bytes());
    CHECK_THAT(image_error([&] { read_source_image(path, {}, temp.mkdir("spool")); }),
               Contains("evil.tar") && Contains("'escape'"));
}
