#include "image/source_image.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <map>
#include <string_view>
#include <system_error>
#include <unistd.h>
#include <utility>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "image/archive.hpp"
#include "image/image_error.hpp"
#include "util/files.hpp"

namespace assetctl::image {

namespace fs = std::filesystem;
using nlohmann::json;
using registry::Digest;
namespace media_type = registry::media_type;

namespace {

// manifest.json, index.json, oci-layout, image manifests and configs are small; a larger one is
// not an image (and would be read into memory).
constexpr std::uint64_t k_max_metadata_size = 16u << 20;

constexpr std::string_view k_docker_hint =
    "re-create it with `docker save -o image.tar IMAGE` (docker load would fail on it too)";
constexpr std::string_view k_oci_hint =
    "re-create it, for example with `skopeo copy docker-daemon:IMAGE oci-archive:image.tar` "
    "or `docker save -o image.tar IMAGE`";

constexpr const char* k_ref_name_annotation = "org.opencontainers.image.ref.name";
constexpr const char* k_containerd_name_annotation = "io.containerd.image.name";
// BuildKit's provenance/SBOM manifests inside an image index.
constexpr const char* k_reference_type_annotation = "vnd.docker.reference.type";
constexpr std::string_view k_attestation_manifest = "attestation-manifest";

std::string quote(std::string_view text) {
    return "'" + std::string(text) + "'";
}

// Where errors happen and what to tell the user to do about them.
struct Context {
    std::string label;  // "image tarball '/x/image.tar'"
    std::string_view hint;

    [[noreturn]] void fail(const std::string& what) const {
        throw ImageError(label + ": " + what + "; " + std::string(hint));
    }
};

// Up to `count` bytes of `range` from its start.
std::string read_range(const FileRange& range, std::uint64_t count) {
    const auto wanted = static_cast<std::size_t>(std::min(count, range.size));
    const int fd = ::open(range.file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const int error = errno;
        throw ImageError("cannot open " + quote(range.file.string()) + ": " +
                         std::generic_category().message(error));
    }
    std::string bytes(wanted, '\0');
    std::string problem;
    try {
        if (util::read_at(fd, bytes.data(), wanted, range.offset) < wanted) {
            problem = "the file is shorter (changed or truncated)";
        }
    } catch (const std::system_error& e) {
        problem = e.code().message();
    }
    ::close(fd);
    if (!problem.empty()) {
        throw ImageError("cannot read " + std::to_string(wanted) + " bytes at offset " +
                         std::to_string(range.offset) + " of " + quote(range.file.string()) + ": " +
                         problem);
    }
    return bytes;
}

SourceLayer::Compression detect_compression(const FileRange& range) {
    const std::string head = read_range(range, 4);
    if (head.size() >= 2 && head[0] == '\x1f' && head[1] == '\x8b') {
        return SourceLayer::Compression::gzip;
    }
    if (head.size() >= 4 && head == std::string_view("\x28\xb5\x2f\xfd", 4)) {
        return SourceLayer::Compression::zstd;
    }
    return SourceLayer::Compression::none;
}

// The files of a tarball or of an OCI layout folder, by archive-relative name.
class Files {
  public:
    explicit Files(const TarArchive& tar)
        : tar_(&tar), label_("image tarball " + quote(tar.path().string())) {}
    explicit Files(fs::path dir)
        : dir_(std::move(dir)), label_("OCI layout " + quote(dir_.string())) {}

    const std::string& label() const { return label_; }
    bool is_tarball() const { return tar_ != nullptr; }

    // The bytes of the regular file `name`; nullopt when there is none. In a folder, a file
    // (or one of its folders) that is a symlink to something outside the folder is an
    // ImageError, and so is a name that is not a regular file.
    std::optional<FileRange> find(std::string_view name) const {
        if (tar_ != nullptr) {
            const ArchiveEntry* entry = tar_->find_file(name);
            if (entry == nullptr) {
                return std::nullopt;
            }
            return FileRange{tar_->data_file(), entry->data_offset, entry->size};
        }
        const auto normalised = normalize_archive_name(name);
        if (!normalised || normalised->empty()) {
            return std::nullopt;
        }
        const fs::path full = dir_ / *normalised;
        std::error_code ec;
        const auto status = fs::status(full, ec);  // follows symlinks; dangling = not found
        if (ec || !fs::exists(status)) {
            return std::nullopt;
        }
        if (!util::is_within(full, dir_)) {
            throw ImageError(label_ + ": " + quote(*normalised) +
                             " is (or goes through) a symlink to a file outside the layout; "
                             "refusing to read it: copy the layout without such links, for "
                             "example with `skopeo copy oci:DIR oci:NEWDIR`");
        }
        if (!fs::is_regular_file(status)) {
            throw ImageError(label_ + ": " + quote(*normalised) + " is not a regular file; " +
                             std::string(k_oci_hint));
        }
        const fs::path real = fs::canonical(full, ec);
        const auto size = ec ? 0 : fs::file_size(real, ec);
        if (ec) {
            throw ImageError(label_ + ": cannot read " + quote(*normalised) + ": " + ec.message());
        }
        return FileRange{real, 0, size};
    }

    // The bytes of `name`, described as `what` in messages.
    std::string read(const Context& context, std::string_view name, std::string_view what) const {
        const auto range = find(name);
        if (!range) {
            context.fail((what == name ? quote(name) : std::string(what) + " " + quote(name)) +
                         " is missing");
        }
        if (range->size > k_max_metadata_size) {
            context.fail(std::string(what) + " " + quote(name) + " is " +
                         std::to_string(range->size) + " bytes, far more than such a file can be");
        }
        return read_range(*range, range->size);
    }

  private:
    const TarArchive* tar_ = nullptr;
    fs::path dir_;
    std::string label_;
};

json parse_json(const Context& context, const std::string& bytes, std::string_view what) {
    try {
        return json::parse(bytes);
    } catch (const json::exception& e) {
        context.fail(std::string(what) + " is not valid JSON (" + e.what() + ")");
    }
}

std::vector<Digest> parse_diff_ids(const Context& context, const std::string& config,
                                   const std::string& config_name, std::size_t layer_count) {
    const std::string what = "image config " + quote(config_name);
    const json parsed = parse_json(context, config, what);
    if (!parsed.is_object()) {
        context.fail(what + " is not a JSON object");
    }
    const auto rootfs = parsed.find("rootfs");
    if (rootfs == parsed.end() || !rootfs->is_object()) {
        context.fail(what + " has no rootfs object");
    }
    const auto diff_ids = rootfs->find("diff_ids");
    if (diff_ids == rootfs->end() || !diff_ids->is_array()) {
        context.fail(what + " has no rootfs.diff_ids array");
    }
    std::vector<Digest> out;
    for (std::size_t i = 0; i < diff_ids->size(); ++i) {
        const json& item = (*diff_ids)[i];
        std::optional<Digest> digest;
        if (item.is_string()) {
            digest = Digest::parse(item.get<std::string>());
        }
        if (!digest) {
            context.fail(what + ": rootfs.diff_ids[" + std::to_string(i) + "] is " + item.dump() +
                         ", not a digest (sha256:<64 hex digits>)");
        }
        out.push_back(*digest);
    }
    if (out.size() != layer_count) {
        context.fail(what + " has " + std::to_string(out.size()) +
                     " rootfs.diff_ids but the manifest lists " + std::to_string(layer_count) +
                     " layers; they must match one to one");
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Choosing one image among several.

struct Candidate {
    std::vector<std::string> names;
    std::string unnamed;  // how to list it when it has no names
};

std::string list_candidates(const std::vector<Candidate>& candidates,
                            const std::vector<std::size_t>& which) {
    std::string out;
    for (const std::size_t i : which) {
        const auto& candidate = candidates[i];
        std::string text;
        for (const auto& name : candidate.names) {
            text += (text.empty() ? "" : " = ") + name;
        }
        out += (out.empty() ? "" : ", ") + (text.empty() ? candidate.unnamed : text);
    }
    return out;
}

bool matches_tag_part(const std::string& name, const std::string& tag) {
    const auto colon = name.rfind(':');
    if (colon == std::string::npos) {
        return false;
    }
    const std::string_view part = std::string_view(name).substr(colon + 1);
    return part.find('/') == std::string_view::npos && part == tag;
}

std::size_t select_image(const Context& context, const std::vector<Candidate>& candidates,
                         const ImageSelector& selector) {
    std::vector<std::size_t> all(candidates.size());
    for (std::size_t i = 0; i < all.size(); ++i) {
        all[i] = i;
    }
    if (selector.tag) {
        const std::string& tag = *selector.tag;
        std::vector<std::size_t> exact;
        std::vector<std::size_t> by_tag_part;
        for (std::size_t i = 0; i < candidates.size(); ++i) {
            const auto& names = candidates[i].names;
            if (std::find(names.begin(), names.end(), tag) != names.end()) {
                exact.push_back(i);
            }
            if (std::any_of(names.begin(), names.end(),
                            [&](const std::string& name) { return matches_tag_part(name, tag); })) {
                by_tag_part.push_back(i);
            }
        }
        const auto& found = exact.empty() ? by_tag_part : exact;
        if (found.size() == 1) {
            return found.front();
        }
        if (found.empty()) {
            throw ImageError(context.label + " has no image named " + quote(tag) +
                             "; the images it holds are: " + list_candidates(candidates, all) +
                             " (give one of these names)");
        }
        throw ImageError(context.label + ": " + quote(tag) + " matches several images (" +
                         list_candidates(candidates, found) +
                         "); give the full name of the one to use");
    }
    if (candidates.size() == 1) {
        return 0;
    }
    if (selector.last_loaded) {
        return candidates.size() - 1;
    }
    throw ImageError(context.label + " holds " + std::to_string(candidates.size()) + " images (" +
                     list_candidates(candidates, all) +
                     "); say which one to use by its name or tag");
}

// ---------------------------------------------------------------------------------------------
// OCI descriptors, blobs and manifests.

struct Descriptor {
    std::string media_type;
    Digest digest;
    std::uint64_t size = 0;
    std::map<std::string, std::string> annotations;
    std::string platform;  // "linux/arm64/v8", for messages
    std::string where;     // "index.json manifests[0]", for messages
};

Descriptor parse_descriptor(const Context& context, const json& value, std::string where) {
    if (!value.is_object()) {
        context.fail(where + " is not a descriptor object");
    }
    Descriptor out;
    const auto media = value.find("mediaType");
    if (media == value.end() || !media->is_string()) {
        context.fail(where + " has no mediaType");
    }
    out.media_type = media->get<std::string>();
    const auto digest = value.find("digest");
    std::optional<Digest> parsed;
    if (digest != value.end() && digest->is_string()) {
        parsed = Digest::parse(digest->get<std::string>());
    }
    if (!parsed) {
        context.fail(where + " has no valid digest (sha256:<64 lower-case hex digits>)");
    }
    out.digest = *parsed;
    const auto size = value.find("size");
    if (size == value.end() || !(size->is_number_unsigned() ||
                                 (size->is_number_integer() && size->get<std::int64_t>() >= 0))) {
        context.fail(where + " has no valid size (a non-negative integer)");
    }
    out.size = size->is_number_unsigned() ? size->get<std::uint64_t>()
                                          : static_cast<std::uint64_t>(size->get<std::int64_t>());
    if (const auto annotations = value.find("annotations");
        annotations != value.end() && annotations->is_object()) {
        for (const auto& [key, text] : annotations->items()) {
            if (text.is_string()) {
                out.annotations[key] = text.get<std::string>();
            }
        }
    }
    if (const auto platform = value.find("platform");
        platform != value.end() && platform->is_object()) {
        for (const char* key : {"os", "architecture", "variant"}) {
            if (const auto part = platform->find(key);
                part != platform->end() && part->is_string()) {
                out.platform += (out.platform.empty() ? "" : "/") + part->get<std::string>();
            }
        }
    }
    out.where = std::move(where);
    return out;
}

std::string blob_name(const Digest& digest) {
    // Digest::parse allows only [a-z0-9]+ algorithms and hex, so this cannot leave blobs/.
    return "blobs/" + digest.algorithm() + "/" + digest.hex();
}

// The blob a descriptor points to, checked: present, the descriptor's size, the given digest.
FileRange blob_range(const Context& context, const Files& files, const Descriptor& descriptor,
                     std::string_view what) {
    const std::string name = blob_name(descriptor.digest);
    const auto range = files.find(name);
    if (!range) {
        context.fail(std::string(what) + " " + descriptor.digest.str() + " (" + descriptor.where +
                     ") is missing: there is no " + quote(name));
    }
    if (range->size != descriptor.size) {
        context.fail(std::string(what) + " " + quote(name) + " is " + std::to_string(range->size) +
                     " bytes but " + descriptor.where + " says " + std::to_string(descriptor.size));
    }
    return *range;
}

std::string read_blob(const Context& context, const Files& files, const Descriptor& descriptor,
                      std::string_view what) {
    if (descriptor.digest.algorithm() != "sha256") {
        context.fail(std::string(what) + " " + descriptor.digest.str() + " (" + descriptor.where +
                     ") uses a " + descriptor.digest.algorithm() +
                     " digest; only sha256 blobs can be verified");
    }
    const FileRange range = blob_range(context, files, descriptor, what);
    if (range.size > k_max_metadata_size) {
        context.fail(std::string(what) + " " + descriptor.digest.str() + " is " +
                     std::to_string(range.size) + " bytes, far more than such a file can be");
    }
    std::string bytes = read_range(range, range.size);
    const Digest actual = Digest::sha256_of(bytes);
    if (actual != descriptor.digest) {
        context.fail(std::string(what) + " " + quote(blob_name(descriptor.digest)) +
                     " does not match its digest (its content hashes to " + actual.str() +
                     "): the blob is corrupt");
    }
    return bytes;
}

std::vector<Descriptor> parse_manifests_array(const Context& context, const json& index,
                                              const std::string& where) {
    if (!index.is_object()) {
        context.fail(where + " is not a JSON object");
    }
    const auto manifests = index.find("manifests");
    if (manifests == index.end() || !manifests->is_array()) {
        context.fail(where + " has no manifests array");
    }
    std::vector<Descriptor> out;
    for (std::size_t i = 0; i < manifests->size(); ++i) {
        out.push_back(parse_descriptor(context, (*manifests)[i],
                                       where + " manifests[" + std::to_string(i) + "]"));
    }
    return out;
}

bool is_attestation(const Descriptor& descriptor) {
    const auto it = descriptor.annotations.find(k_reference_type_annotation);
    return it != descriptor.annotations.end() && it->second == k_attestation_manifest;
}

// The image manifest `descriptor` stands for: itself, or the one image manifest of an index
// that holds exactly one (besides BuildKit attestation manifests). Any other index is a
// multi-platform image, refused.
Descriptor single_platform_manifest(const Context& context, const Files& files,
                                    const Descriptor& descriptor, const std::string& image_name) {
    if (media_type::is_image_manifest(descriptor.media_type)) {
        return descriptor;
    }
    const std::string bytes = read_blob(context, files, descriptor, "image index");
    const json index = parse_json(context, bytes, "image index " + descriptor.digest.str());
    std::vector<Descriptor> images;
    std::size_t nested_indexes = 0;
    for (auto& child :
         parse_manifests_array(context, index, "image index " + descriptor.digest.short_str())) {
        if (is_attestation(child)) {
            continue;
        }
        if (media_type::is_index(child.media_type)) {
            ++nested_indexes;
        } else if (media_type::is_image_manifest(child.media_type)) {
            images.push_back(std::move(child));
        }
    }
    if (images.size() == 1 && nested_indexes == 0) {
        Descriptor chosen = images.front();
        chosen.where = descriptor.where + " -> " + chosen.where;
        return chosen;
    }
    if (images.empty() && nested_indexes == 0) {
        context.fail("image " + quote(image_name) + " (" + descriptor.where +
                     ") is an image index without any image manifest");
    }
    std::string platforms;
    for (const auto& image : images) {
        platforms += (platforms.empty() ? "" : ", ") +
                     (image.platform.empty() ? image.digest.short_str() : image.platform);
    }
    throw ImageError(
        context.label + ": image " + quote(image_name) + " (" + descriptor.where +
        ") is a multi-platform index (" + std::to_string(images.size() + nested_indexes) +
        " entries" + (platforms.empty() ? "" : ": " + platforms) +
        "): multi-platform images are not supported, an asset is one platform; choose one "
        "platform, for example with `docker save --platform linux/amd64 -o image.tar IMAGE` or "
        "`skopeo copy --override-arch amd64 ...`");
}

struct ParsedManifest {
    Descriptor config;
    std::vector<Descriptor> layers;
};

ParsedManifest parse_image_manifest(const Context& context, const std::string& bytes,
                                    const Descriptor& descriptor) {
    const std::string what = "image manifest " + descriptor.digest.str();
    const json manifest = parse_json(context, bytes, what);
    if (!manifest.is_object()) {
        context.fail(what + " is not a JSON object");
    }
    if (const auto media = manifest.find("mediaType");
        media != manifest.end() && media->is_string() &&
        media->get<std::string>() != descriptor.media_type) {
        context.fail(what + " says its mediaType is " + media->get<std::string>() + " but " +
                     descriptor.where + " says " + descriptor.media_type);
    }
    ParsedManifest out;
    const auto config = manifest.find("config");
    if (config == manifest.end()) {
        context.fail(what + " has no config descriptor");
    }
    out.config = parse_descriptor(context, *config, what + " config");
    const auto layers = manifest.find("layers");
    if (layers == manifest.end() || !layers->is_array()) {
        context.fail(what + " has no layers array");
    }
    for (std::size_t i = 0; i < layers->size(); ++i) {
        out.layers.push_back(
            parse_descriptor(context, (*layers)[i], what + " layers[" + std::to_string(i) + "]"));
    }
    return out;
}

std::vector<std::string> annotation_names(const Descriptor& descriptor) {
    std::vector<std::string> names;
    for (const char* key : {k_ref_name_annotation, k_containerd_name_annotation}) {
        if (const auto it = descriptor.annotations.find(key);
            it != descriptor.annotations.end() && !it->second.empty() &&
            std::find(names.begin(), names.end(), it->second) == names.end()) {
            names.push_back(it->second);
        }
    }
    return names;
}

void read_oci_layout_file(const Context& context, const Files& files) {
    const std::string bytes = files.read(context, "oci-layout", "oci-layout file");
    const json layout = parse_json(context, bytes, "oci-layout");
    if (!layout.is_object() || !layout.contains("imageLayoutVersion") ||
        !layout["imageLayoutVersion"].is_string()) {
        context.fail("oci-layout has no imageLayoutVersion");
    }
}

SourceImage read_oci(const Files& files, SourceFormat format, const ImageSelector& selector) {
    const Context context{files.label(), k_oci_hint};
    read_oci_layout_file(context, files);
    const json index =
        parse_json(context, files.read(context, "index.json", "index.json"), "index.json");
    const auto descriptors = parse_manifests_array(context, index, "index.json");

    std::vector<Descriptor> images;
    std::vector<Candidate> candidates;
    for (const auto& descriptor : descriptors) {
        if (!media_type::is_image_manifest(descriptor.media_type) &&
            !media_type::is_index(descriptor.media_type)) {
            spdlog::debug("{}: skipping {} ({}): not an image", files.label(), descriptor.where,
                          descriptor.media_type);
            continue;
        }
        candidates.push_back(
            {annotation_names(descriptor), "unnamed image " + descriptor.digest.short_str()});
        images.push_back(descriptor);
    }
    if (images.empty()) {
        context.fail("index.json lists no image manifest");
    }
    const std::size_t chosen = select_image(context, candidates, selector);
    const std::string image_name = list_candidates(candidates, {chosen});
    const Descriptor manifest_descriptor =
        single_platform_manifest(context, files, images[chosen], image_name);

    SourceImage image;
    image.format = format;
    image.tags = candidates[chosen].names;
    image.manifest = read_blob(context, files, manifest_descriptor, "image manifest");
    image.manifest_media_type = manifest_descriptor.media_type;
    const ParsedManifest manifest =
        parse_image_manifest(context, *image.manifest, manifest_descriptor);
    image.config = read_blob(context, files, manifest.config, "image config");
    image.config_digest = Digest::sha256_of(image.config);
    image.config_media_type = manifest.config.media_type;
    const auto diff_ids = parse_diff_ids(context, image.config, blob_name(manifest.config.digest),
                                         manifest.layers.size());
    for (std::size_t i = 0; i < manifest.layers.size(); ++i) {
        const Descriptor& descriptor = manifest.layers[i];
        SourceLayer layer;
        layer.bytes = blob_range(context, files, descriptor, "layer");
        layer.diff_id = diff_ids[i];
        layer.compression = detect_compression(layer.bytes);
        layer.digest = descriptor.digest;
        layer.media_type = descriptor.media_type;
        image.layers.push_back(std::move(layer));
    }
    return image;
}

// ---------------------------------------------------------------------------------------------
// docker save

struct DockerSaveEntry {
    std::string config;
    std::vector<std::string> repo_tags;
    std::vector<std::string> layers;
};

std::vector<DockerSaveEntry> parse_docker_manifest(const Context& context, const json& manifest) {
    if (!manifest.is_array() || manifest.empty()) {
        context.fail("manifest.json is not a non-empty JSON array of images");
    }
    std::vector<DockerSaveEntry> out;
    for (std::size_t i = 0; i < manifest.size(); ++i) {
        const std::string where = "manifest.json[" + std::to_string(i) + "]";
        const json& item = manifest[i];
        if (!item.is_object()) {
            context.fail(where + " is not an object");
        }
        DockerSaveEntry entry;
        const auto config = item.find("Config");
        if (config == item.end() || !config->is_string()) {
            context.fail(where + ".Config is missing or not a string");
        }
        entry.config = config->get<std::string>();
        if (const auto tags = item.find("RepoTags"); tags != item.end() && !tags->is_null()) {
            if (!tags->is_array()) {
                context.fail(where + ".RepoTags is not an array");
            }
            for (const auto& tag : *tags) {
                if (!tag.is_string()) {
                    context.fail(where + ".RepoTags holds a non-string");
                }
                entry.repo_tags.push_back(tag.get<std::string>());
            }
        }
        const auto layers = item.find("Layers");
        if (layers == item.end() || !layers->is_array()) {
            context.fail(where + ".Layers is missing or not an array");
        }
        for (const auto& layer : *layers) {
            if (!layer.is_string()) {
                context.fail(where + ".Layers holds a non-string");
            }
            entry.layers.push_back(layer.get<std::string>());
        }
        out.push_back(std::move(entry));
    }
    return out;
}

// A path named by manifest.json: inside the tarball and present.
FileRange docker_file(const Context& context, const Files& files, const std::string& name,
                      const std::string& where) {
    const auto normalised = normalize_archive_name(name);
    if (!normalised || normalised->empty()) {
        context.fail(where + " is " + quote(name) + ", not a relative path inside the tarball");
    }
    const auto range = files.find(*normalised);
    if (!range) {
        context.fail(where + " names " + quote(name) + ", which is not in the tarball");
    }
    return *range;
}

bool same_bytes(const FileRange& a, const FileRange& b) {
    return a.file == b.file && a.offset == b.offset && a.size == b.size;
}

// docker 25+ also writes an OCI layout into the tarball. When one of its image manifests has
// the chosen image's config and exactly its layers, that manifest (and the layers' descriptors)
// is attached to `image`. The layout is optional for docker load, so anything wrong with it
// only means no manifest is attached.
void attach_oci_manifest(const Files& files, SourceImage& image) {
    const Context context{files.label(), k_docker_hint};
    try {
        const json index =
            parse_json(context, files.read(context, "index.json", "index.json"), "index.json");
        std::vector<Descriptor> manifests;
        for (auto& descriptor : parse_manifests_array(context, index, "index.json")) {
            if (media_type::is_image_manifest(descriptor.media_type)) {
                manifests.push_back(std::move(descriptor));
            } else if (media_type::is_index(descriptor.media_type) &&
                       files.find(blob_name(descriptor.digest))) {
                const json nested = parse_json(
                    context, read_blob(context, files, descriptor, "image index"), "image index");
                for (auto& child : parse_manifests_array(context, nested, descriptor.where)) {
                    if (media_type::is_image_manifest(child.media_type) && !is_attestation(child)) {
                        manifests.push_back(std::move(child));
                    }
                }
            }
        }
        for (const auto& descriptor : manifests) {
            if (!files.find(blob_name(descriptor.digest))) {
                continue;  // another platform's manifest, listed but not saved
            }
            std::string bytes = read_blob(context, files, descriptor, "image manifest");
            const ParsedManifest manifest = parse_image_manifest(context, bytes, descriptor);
            if (manifest.config.digest != image.config_digest ||
                manifest.config.size != image.config.size() ||
                manifest.layers.size() != image.layers.size()) {
                continue;
            }
            std::vector<FileRange> ranges;
            for (const auto& layer : manifest.layers) {
                ranges.push_back(blob_range(context, files, layer, "layer"));
            }
            bool same = true;
            for (std::size_t i = 0; i < ranges.size(); ++i) {
                same = same && same_bytes(ranges[i], image.layers[i].bytes);
            }
            if (!same) {
                spdlog::debug("{}: OCI manifest {} has the image's config but other layers",
                              files.label(), descriptor.digest.str());
                continue;
            }
            for (std::size_t i = 0; i < ranges.size(); ++i) {
                image.layers[i].digest = manifest.layers[i].digest;
                image.layers[i].media_type = manifest.layers[i].media_type;
            }
            image.manifest = std::move(bytes);
            image.manifest_media_type = descriptor.media_type;
            image.config_media_type = manifest.config.media_type;
            return;
        }
        spdlog::debug("{}: no OCI manifest inside matches config {}", files.label(),
                      image.config_digest.str());
    } catch (const ImageError& e) {
        spdlog::debug("{}: the OCI layout inside is not used: {}", files.label(), e.what());
    }
}

SourceImage read_docker_save(const Files& files, const ImageSelector& selector, bool with_oci) {
    const Context context{files.label(), k_docker_hint};
    const json manifest =
        parse_json(context, files.read(context, "manifest.json", "manifest.json"), "manifest.json");
    const auto entries = parse_docker_manifest(context, manifest);

    std::vector<Candidate> candidates;
    for (const auto& entry : entries) {
        candidates.push_back({entry.repo_tags, "untagged image " + entry.config});
    }
    const std::size_t chosen = select_image(context, candidates, selector);
    const DockerSaveEntry& entry = entries[chosen];
    const std::string where = "manifest.json[" + std::to_string(chosen) + "]";

    SourceImage image;
    image.format = with_oci ? SourceFormat::docker_archive_oci : SourceFormat::docker_archive;
    image.tags = entry.repo_tags;
    const FileRange config = docker_file(context, files, entry.config, where + ".Config");
    if (config.size > k_max_metadata_size) {
        context.fail("image config " + quote(entry.config) + " is " + std::to_string(config.size) +
                     " bytes, far more than a config can be");
    }
    image.config = read_range(config, config.size);
    image.config_digest = Digest::sha256_of(image.config);
    const auto diff_ids = parse_diff_ids(context, image.config, entry.config, entry.layers.size());
    for (std::size_t i = 0; i < entry.layers.size(); ++i) {
        SourceLayer layer;
        layer.bytes = docker_file(context, files, entry.layers[i],
                                  where + ".Layers[" + std::to_string(i) + "]");
        layer.diff_id = diff_ids[i];
        layer.compression = detect_compression(layer.bytes);
        image.layers.push_back(std::move(layer));
    }
    if (with_oci) {
        attach_oci_manifest(files, image);
    }
    return image;
}

// Names like "x/manifest.json": the tar was made of a folder instead of its content.
std::optional<std::string> nested_marker(const TarArchive& tar) {
    for (const auto& entry : tar.entries()) {
        for (const std::string_view marker : {"/manifest.json", "/oci-layout"}) {
            const std::string_view name = entry.name;
            if (name.size() > marker.size() && name.substr(name.size() - marker.size()) == marker) {
                return entry.name;
            }
        }
    }
    return std::nullopt;
}

}  // namespace

const char* to_string(SourceFormat format) {
    switch (format) {
        case SourceFormat::docker_archive:
            return "docker-archive";
        case SourceFormat::docker_archive_oci:
            return "docker-archive-oci";
        case SourceFormat::oci_archive:
            return "oci-archive";
        case SourceFormat::oci_layout:
            return "oci-layout";
    }
    return "unknown";
}

SourceImage read_source_image(const fs::path& path, const ImageSelector& selector,
                              const fs::path& spool_dir) {
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
        throw ImageError("image source " + quote(path.string()) +
                         " does not exist; check the path (a `docker save` tarball or an OCI "
                         "layout folder)");
    }
    if (fs::is_directory(status)) {
        const Files files(path);
        if (!files.find("oci-layout")) {
            throw ImageError(quote(path.string()) +
                             " is a folder without an oci-layout file: not a docker-save tarball "
                             "or OCI layout; pass a `docker save -o image.tar IMAGE` tarball or "
                             "an OCI image layout folder");
        }
        return read_oci(files, SourceFormat::oci_layout, selector);
    }

    const TarArchive tar = TarArchive::open(path, spool_dir);
    const Files files(tar);
    const bool has_manifest = files.find("manifest.json").has_value();
    const bool has_layout = files.find("oci-layout").has_value();
    const bool has_index = files.find("index.json").has_value();
    if (has_manifest) {
        return read_docker_save(files, selector, has_layout && has_index);
    }
    if (has_layout && has_index) {
        return read_oci(files, SourceFormat::oci_archive, selector);
    }
    std::string message = "image tarball " + quote(path.string()) +
                          " is not a docker-save tarball or OCI layout: it has neither "
                          "manifest.json nor oci-layout and index.json at its top level";
    if (const auto nested = nested_marker(tar)) {
        message += " (it has " + quote(*nested) +
                   ": make the tar from inside the folder, e.g. `tar -C FOLDER -cf image.tar .`)";
    } else {
        message += "; create it with `docker save -o image.tar IMAGE`";
    }
    throw ImageError(message);
}

}  // namespace assetctl::image
