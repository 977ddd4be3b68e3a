#include "manifest/assembly.hpp"

#include <map>
#include <set>
#include <string>

#include <spdlog/spdlog.h>

#include "manifest/asset_manifest.hpp"
#include "manifest/errors.hpp"
#include "manifest/json_reader.hpp"
#include "util/error.hpp"
#include "util/files.hpp"

namespace assetctl::manifest {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view k_asset_manifest_type = "cdk:asset-manifest";
constexpr std::string_view k_nested_assembly_type = "cdk:cloud-assembly";
constexpr std::string_view k_stack_type = "aws:cloudformation:stack";
constexpr std::string_view k_legacy_asset_metadata = "aws:cdk:asset";

constexpr std::string_view k_legacy_hint =
    "synthesize with CDK v2 (or CDK v1's new-style synthesizer: context "
    "@aws-cdk/core:newStyleStackSynthesis=true; with CDK v2's LegacyStackSynthesizer, the "
    "DefaultStackSynthesizer) to get asset manifests";

fs::path canonical_or_absolute(const fs::path& path) {
    std::error_code ec;
    auto canonical = fs::weakly_canonical(fs::absolute(path), ec);
    return ec ? fs::absolute(path) : canonical;
}

std::string strip_assets_suffix(std::string id) {
    constexpr std::string_view suffix = ".assets";
    if (id.size() > suffix.size() && id.ends_with(suffix)) {
        id.resize(id.size() - suffix.size());
    }
    return id;
}

class AssemblyReader {
  public:
    explicit AssemblyReader(Assembly& out) : out_(out) {}

    void read(const fs::path& directory, const std::string& stage_prefix) {
        const fs::path manifest_file = directory / "manifest.json";
        const fs::path canonical = canonical_or_absolute(directory);
        chain_.push_back(canonical);

        std::string text;
        try {
            text = util::read_file(manifest_file);
        } catch (const util::FileError& e) {
            throw ManifestError(manifest_file, "",
                                "cannot read the cloud assembly manifest: " + std::string(e.what()),
                                "pass a synthesized cdk.out folder (run `cdk synth` first) or a "
                                "*.assets.json file");
        }
        const auto document = parse_json_document(text, manifest_file);
        // manifest.json carries much that assetctl does not need (templates, metadata,
        // missing context); only the artifacts below are read, so unknown keys are not listed.
        const JsonNode::Context context = json_context(manifest_file, nullptr);
        const JsonNode root(document, "", context);
        if (!root.raw().is_object()) {
            root.fail("expected an object, found " + describe_json_value(root.raw()));
        }
        const auto version = root.required("version");
        check_schema_version(version);
        if (chain_.size() == 1 && version.raw().is_string()) {
            schema_version_ = version.raw().get<std::string>();
        }

        const auto artifacts = root.optional("artifacts");
        if (!artifacts) {
            chain_.pop_back();
            return;
        }
        const auto members = artifacts->members();
        const auto stack_names = stack_names_by_asset_manifest(members);
        count_legacy_assets(members);

        for (const auto& [id, artifact] : members) {
            const std::string type = artifact.required("type").as_string();
            if (type == k_asset_manifest_type) {
                const auto file = artifact.required("properties").required("file");
                std::string stack;
                if (auto it = stack_names.find(id); it != stack_names.end()) {
                    stack = it->second;
                } else {
                    stack = stage_prefix + strip_assets_suffix(id);
                }
                add_manifest(directory / file.as_non_empty_string(), id, stack);
            } else if (type == k_nested_assembly_type) {
                const auto properties = artifact.required("properties");
                const auto directory_name = properties.required("directoryName");
                const fs::path nested = directory / directory_name.as_non_empty_string();
                // CDK writes the stage's full path (`Outer/Inner`) as its display name.
                const std::string name =
                    properties.optional_string("displayName").value_or(stage_prefix + id);
                enter_nested(nested, directory_name, name + "/");
            }
        }
        chain_.pop_back();
    }

    // The top-level manifest.json's schema version, as written.
    const std::string& schema_version() const { return schema_version_; }

  private:
    // CDK's legacy synthesis describes each asset as stack metadata instead of in an asset
    // manifest: `"metadata": {"/Stack": [{"type": "aws:cdk:asset", "data": {"id": ...}}]}`.
    // Read leniently (as the names above): this only feeds a diagnosis.
    void count_legacy_assets(const std::vector<std::pair<std::string, JsonNode>>& artifacts) {
        for (const auto& [id, artifact] : artifacts) {
            const auto& raw = artifact.raw();
            if (!raw.is_object() || raw.value("type", "") != k_stack_type) {
                continue;
            }
            const auto metadata = raw.find("metadata");
            if (metadata == raw.end() || !metadata->is_object()) {
                continue;
            }
            for (const auto& [construct_path, entries] : metadata->items()) {
                if (!entries.is_array()) {
                    continue;
                }
                for (std::size_t i = 0; i < entries.size(); ++i) {
                    add_legacy_asset(entries[i], id + construct_path + "#" + std::to_string(i));
                }
            }
        }
        out_.legacy_assets = legacy_asset_ids_.size();
    }

    // One asset per id: a v1 stack lists each asset it uses, shared ones in several stacks.
    void add_legacy_asset(const nlohmann::json& entry, const std::string& fallback_id) {
        if (!entry.is_object() || entry.value("type", "") != k_legacy_asset_metadata) {
            return;
        }
        const auto data = entry.find("data");
        if (data != entry.end() && data->is_object() && data->contains("id") &&
            data->at("id").is_string()) {
            legacy_asset_ids_.insert(data->at("id").get<std::string>());
        } else {
            legacy_asset_ids_.insert(fallback_id);
        }
    }

    // A stack artifact lists its asset manifest among its dependencies; that gives the asset
    // manifest the stack's display name (`Stage/Stack` inside stages).
    static std::map<std::string, std::string> stack_names_by_asset_manifest(
        const std::vector<std::pair<std::string, JsonNode>>& artifacts) {
        std::set<std::string> asset_manifests;
        for (const auto& [id, artifact] : artifacts) {
            if (artifact.raw().is_object() &&
                artifact.raw().value("type", "") == k_asset_manifest_type) {
                asset_manifests.insert(id);
            }
        }
        std::map<std::string, std::string> names;
        for (const auto& [id, artifact] : artifacts) {
            const auto& raw = artifact.raw();
            if (!raw.is_object() || raw.value("type", "") != k_stack_type) {
                continue;
            }
            const auto deps = raw.find("dependencies");
            if (deps == raw.end() || !deps->is_array()) {
                continue;
            }
            std::string display = id;
            if (auto it = raw.find("displayName"); it != raw.end() && it->is_string()) {
                display = it->get<std::string>();
            }
            for (const auto& dep : *deps) {
                if (dep.is_string() && asset_manifests.contains(dep.get<std::string>())) {
                    names.emplace(dep.get<std::string>(), display);
                }
            }
        }
        return names;
    }

    void add_manifest(const fs::path& file, const std::string& artifact_id,
                      const std::string& stack) {
        if (!seen_manifests_.insert(canonical_or_absolute(file)).second) {
            return;  // listed twice (for example by two paths to one nested assembly)
        }
        AssetManifest manifest = load_asset_manifest(file);
        manifest.origin.artifact_id = artifact_id;
        manifest.origin.stack = stack;
        for (const auto& key : manifest.unknown_keys) {
            spdlog::debug("{}: ignoring unknown key {}", file.string(), key);
        }
        out_.manifests.push_back(std::move(manifest));
    }

    void enter_nested(const fs::path& nested, const JsonNode& where,
                      const std::string& stage_prefix) {
        const fs::path canonical = canonical_or_absolute(nested);
        for (const auto& ancestor : chain_) {
            if (ancestor == canonical) {
                std::string loop;
                for (const auto& step : chain_) {
                    loop += step.string() + " -> ";
                }
                where.fail("nested cloud assemblies form a loop: " + loop + canonical.string(),
                           "re-synthesize the app; a cloud assembly never contains itself");
            }
        }
        if (!seen_assemblies_.insert(canonical).second) {
            return;
        }
        std::error_code ec;
        if (!fs::is_directory(nested, ec)) {
            where.fail("nested cloud assembly '" + nested.string() + "' is not a folder",
                       "re-synthesize the app; the cloud assembly is incomplete");
        }
        read(nested, stage_prefix);
    }

    Assembly& out_;
    std::vector<fs::path> chain_;
    std::set<fs::path> seen_assemblies_;
    std::set<fs::path> seen_manifests_;
    std::set<std::string> legacy_asset_ids_;
    std::string schema_version_;
};

fs::path folder_of(const fs::path& file) {
    return file.has_parent_path() ? file.parent_path() : fs::path(".");
}

// Whether `parent`'s manifest.json lists its subfolder `name` as a nested cloud assembly (read
// leniently: anything unreadable says no).
bool lists_nested_assembly(const fs::path& parent, const fs::path& name) {
    std::string text;
    try {
        text = util::read_file(parent / "manifest.json");
    } catch (const std::exception&) {
        return false;
    }
    const auto document = nlohmann::json::parse(text, nullptr, false);
    if (!document.is_object() || !document.contains("artifacts") ||
        !document["artifacts"].is_object()) {
        return false;
    }
    for (const auto& [id, artifact] : document["artifacts"].items()) {
        if (!artifact.is_object() || artifact.value("type", "") != k_nested_assembly_type ||
            !artifact.contains("properties") || !artifact["properties"].is_object()) {
            continue;
        }
        const auto directory = artifact["properties"].value("directoryName", "");
        if (!directory.empty() && fs::path(directory).lexically_normal() == name) {
            return true;
        }
    }
    return false;
}

// The folder every source must stay inside: the assembly read, or, for a CDK Stage's assembly
// read on its own (`cdk.out/assembly-Prod`, its manifest.json or one of its *.assets.json, as
// CDK Pipelines run cdk-assets), the outermost assembly that nests it, since a stage's asset
// manifests name their sources in the parent (`../asset.<hash>`), as cdk-assets allows.
fs::path enclosing_assembly_root(const fs::path& folder) {
    fs::path current = canonical_or_absolute(folder);
    bool nested = false;
    while (current.has_parent_path() && current.parent_path() != current &&
           lists_nested_assembly(current.parent_path(), current.filename())) {
        current = current.parent_path();
        nested = true;
    }
    return nested ? current : folder;
}

std::string counted_assets(std::size_t n) {
    return std::to_string(n) + (n == 1 ? " asset is" : " assets are");
}

// Legacy assets alone: nothing could be listed or published, so that is an input error rather
// than an empty listing; beside asset manifests, a warning (the rest can still be published).
void check_legacy_assets(const fs::path& input, const Assembly& assembly,
                         const std::string& schema_version) {
    if (assembly.legacy_assets == 0) {
        return;
    }
    if (assembly.manifests.empty()) {
        throw util::Fatal(util::ExitCode::input,
                          input.string() + " is a CDK v1 assembly (schema " + schema_version +
                              ", legacy synthesis): its " + counted_assets(assembly.legacy_assets) +
                              " described by aws:cdk:asset metadata, which cdk-assets and "
                              "assetctl do not publish",
                          std::string(k_legacy_hint));
    }
    spdlog::warn(
        "{}: {} described only by aws:cdk:asset metadata (stacks synthesized the CDK v1 "
        "way), which cdk-assets and assetctl do not publish (the asset manifests' "
        "assets are read as usual); {}",
        input.string(), counted_assets(assembly.legacy_assets), k_legacy_hint);
}

}  // namespace

Assembly load_assembly(const fs::path& input) {
    std::error_code ec;
    const auto status = fs::status(input, ec);
    if (!fs::exists(status)) {
        throw ManifestError(input, "", "no such file or folder",
                            "run `cdk synth` first, or point --path at a cloud assembly folder "
                            "or an *.assets.json file");
    }
    Assembly assembly;
    if (fs::is_directory(status) || input.filename() == "manifest.json") {
        const fs::path folder = fs::is_directory(status) ? input : folder_of(input);
        assembly.root = folder;
        AssemblyReader reader(assembly);
        reader.read(folder, "");
        check_legacy_assets(input, assembly, reader.schema_version());
        assembly.root = enclosing_assembly_root(folder);
    } else {
        assembly.root = enclosing_assembly_root(folder_of(input));
        AssetManifest manifest = load_asset_manifest(input);
        std::string stack = input.filename().string();
        constexpr std::string_view suffix = ".assets.json";
        if (stack.size() > suffix.size() && stack.ends_with(suffix)) {
            stack.resize(stack.size() - suffix.size());
        }
        manifest.origin.stack = stack;
        for (const auto& key : manifest.unknown_keys) {
            spdlog::debug("{}: ignoring unknown key {}", input.string(), key);
        }
        assembly.manifests.push_back(std::move(manifest));
    }
    return assembly;
}

}  // namespace assetctl::manifest
