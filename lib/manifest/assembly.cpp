#include "manifest/assembly.hpp"

#include <map>
#include <set>
#include <string>

#include <spdlog/spdlog.h>

#include "manifest/asset_manifest.hpp"
#include "manifest/errors.hpp"
#include "manifest/json_reader.hpp"
#include "util/files.hpp"

namespace assetctl::manifest {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view k_asset_manifest_type = "cdk:asset-manifest";
constexpr std::string_view k_nested_assembly_type = "cdk:cloud-assembly";
constexpr std::string_view k_stack_type = "aws:cloudformation:stack";

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
        check_schema_version(root.required("version"));

        const auto artifacts = root.optional("artifacts");
        if (!artifacts) {
            chain_.pop_back();
            return;
        }
        const auto members = artifacts->members();
        const auto stack_names = stack_names_by_asset_manifest(members);

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

  private:
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
};

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
    if (fs::is_directory(status)) {
        assembly.root = input;
        AssemblyReader(assembly).read(input, "");
    } else if (input.filename() == "manifest.json") {
        assembly.root = input.has_parent_path() ? input.parent_path() : fs::path(".");
        AssemblyReader(assembly).read(assembly.root, "");
    } else {
        assembly.root = input.has_parent_path() ? input.parent_path() : fs::path(".");
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
