#include "publish/plan.hpp"

#include <filesystem>
#include <map>

#include "manifest/asset_manifest.hpp"

namespace assetctl::publish {
namespace {

namespace fs = std::filesystem;

// Images are shared by asset id and resolved source: nested stages name the same folder as
// `../asset.x`, so paths are compared resolved.
std::string image_key(const SelectedImage& selected) {
    const auto& source = selected.asset.source;
    std::error_code ec;
    const auto folder = fs::weakly_canonical(fs::absolute(selected.origin.directory), ec);
    std::string key = selected.asset.id + "\n" + folder.string() + "\n";
    auto json = manifest::to_json(source);
    if (source.directory) {
        json["directory"] =
            fs::weakly_canonical(fs::absolute(selected.origin.directory / *source.directory), ec)
                .string();
        key = selected.asset.id + "\n";
    }
    return key + json.dump();
}

// Destinations with equal fields resolve to the same repository as the same identity.
std::string repository_key(const manifest::DockerImageDestination& destination,
                           const std::optional<std::string>& default_region) {
    const auto region = destination.region ? destination.region : default_region;
    std::string key = destination.repository_name + "\n" + region.value_or("") + "\n" +
                      destination.assume_role_arn.value_or("") + "\n" +
                      destination.assume_role_external_id.value_or("") + "\n";
    if (destination.assume_role_additional_options) {
        key += destination.assume_role_additional_options->dump();
    }
    return key;
}

PlannedImage plan_image(const SelectedImage& selected, bool native_archives) {
    PlannedImage image;
    image.selected = &selected;
    image.archive = manifest::image_archive_source(selected.origin, selected.asset.source);
    if (image.archive && native_archives) {
        image.kind = SourceKind::archive;
    } else if (selected.asset.source.directory) {
        image.kind = SourceKind::docker_build;
    } else if (image.archive) {
        image.kind = SourceKind::engine_load;
    } else {
        image.kind = SourceKind::executable;
    }
    return image;
}

// Targets, images and repositories, each target pointing at its image and repository.
void plan_targets(const manifest::Selection& selection, const PlanInputs& inputs, Plan& plan) {
    std::map<std::string, std::size_t> images;
    std::map<std::string, std::size_t> repositories;
    for (const auto& selected : selection.docker_images) {
        for (const auto& destination : selected.asset.destinations) {
            PlannedTarget target;
            target.selected = &selected;
            target.destination = &destination;
            const auto [image, new_image] = images.emplace(image_key(selected), plan.images.size());
            if (new_image) {
                plan.images.push_back(plan_image(selected, inputs.native_archives));
            }
            const auto [repository, new_repository] = repositories.emplace(
                repository_key(destination, inputs.default_region), plan.repositories.size());
            if (new_repository) {
                plan.repositories.emplace_back();
            }
            target.image = image->second;
            target.repository = repository->second;
            plan.images[target.image].targets.push_back(plan.targets.size());
            plan.repositories[target.repository].targets.push_back(plan.targets.size());
            plan.targets.push_back(target);
        }
    }
}

// File targets and files: one file per asset (its destinations share the package).
void plan_file_targets(const manifest::Selection& selection, Plan& plan) {
    for (const auto& selected : selection.files) {
        const std::size_t file = plan.files.size();
        plan.files.push_back(PlannedFile{&selected, {}});
        for (const auto& destination : selected.asset.destinations) {
            plan.files[file].targets.push_back(plan.file_targets.size());
            plan.file_targets.push_back(PlannedFileTarget{&selected, &destination, file});
        }
    }
}

std::size_t add_node(Plan& plan, NodeKind kind, std::size_t subject,
                     std::vector<std::size_t> after) {
    plan.nodes.push_back(Node{kind, subject, std::move(after)});
    return plan.nodes.size() - 1;
}

bool uses_engine(const PlannedImage& image) {
    return image.kind != SourceKind::archive;
}

// resolve -> check -> (engine ->) produce -> push, as edges between node indices.
void plan_nodes(const PlanInputs& inputs, Plan& plan) {
    std::vector<std::size_t> check_of_repository(plan.repositories.size());
    std::vector<std::size_t> all_checks;
    if (inputs.consult_aws) {
        std::vector<std::size_t> resolve_of_target;
        for (std::size_t t = 0; t < plan.targets.size(); ++t) {
            resolve_of_target.push_back(add_node(plan, NodeKind::resolve, t, {}));
        }
        // Every check waits for every resolve: destinations written differently can resolve
        // to the same repository and identity (an explicit account and region beside
        // ${AWS::AccountId}-${AWS::Region}), and one BatchGetImage asks for all their tags.
        for (std::size_t r = 0; r < plan.repositories.size(); ++r) {
            check_of_repository[r] = add_node(plan, NodeKind::check, r, resolve_of_target);
            all_checks.push_back(check_of_repository[r]);
        }
    }
    std::optional<std::size_t> engine;
    for (const auto& image : plan.images) {
        if (uses_engine(image) && !engine) {
            engine = add_node(plan, NodeKind::engine, 0, all_checks);
        }
    }
    std::vector<std::size_t> produce_of_image;
    for (std::size_t i = 0; i < plan.images.size(); ++i) {
        std::vector<std::size_t> after;
        if (inputs.consult_aws) {
            for (const auto t : plan.images[i].targets) {
                after.push_back(check_of_repository[plan.targets[t].repository]);
            }
        }
        if (uses_engine(plan.images[i])) {
            after.push_back(*engine);
        }
        produce_of_image.push_back(add_node(plan, NodeKind::produce, i, std::move(after)));
    }
    if (inputs.mode == Mode::publish) {
        for (std::size_t t = 0; t < plan.targets.size(); ++t) {
            add_node(plan, NodeKind::push, t, {produce_of_image[plan.targets[t].image]});
        }
    }
}

// resolve_file -> check_file -> package -> upload; without AWS only package.
void plan_file_nodes(const PlanInputs& inputs, Plan& plan) {
    std::vector<std::size_t> check_of_target(plan.file_targets.size());
    if (inputs.consult_aws) {
        for (std::size_t t = 0; t < plan.file_targets.size(); ++t) {
            const auto resolve = add_node(plan, NodeKind::resolve_file, t, {});
            check_of_target[t] = add_node(plan, NodeKind::check_file, t, {resolve});
        }
    }
    std::vector<std::size_t> package_of_file;
    for (std::size_t f = 0; f < plan.files.size(); ++f) {
        std::vector<std::size_t> after;
        if (inputs.consult_aws) {
            for (const auto t : plan.files[f].targets) {
                after.push_back(check_of_target[t]);
            }
        }
        package_of_file.push_back(add_node(plan, NodeKind::package, f, std::move(after)));
    }
    if (inputs.mode == Mode::publish) {
        for (std::size_t t = 0; t < plan.file_targets.size(); ++t) {
            add_node(plan, NodeKind::upload, t, {package_of_file[plan.file_targets[t].file]});
        }
    }
}

std::string file_target_subject(const Plan& plan, std::size_t index) {
    const auto& target = plan.file_targets[index];
    return target.selected->asset.id + ":" + target.destination->id;
}

std::string node_subject(const Plan& plan, const Node& node) {
    switch (node.kind) {
        case NodeKind::resolve_file:
        case NodeKind::check_file:
        case NodeKind::upload:
            return file_target_subject(plan, node.subject);
        case NodeKind::package: {
            const auto& file = plan.files[node.subject];
            return file.selected->asset.id + " (" +
                   std::string(package_kind(file.selected->asset.source)) + ")";
        }
        case NodeKind::resolve:
        case NodeKind::push: {
            const auto& target = plan.targets[node.subject];
            return target.selected->asset.id + ":" + target.destination->id;
        }
        case NodeKind::check: {
            const auto& first = plan.targets[plan.repositories[node.subject].targets.front()];
            return first.destination->repository_name + " (" +
                   std::to_string(plan.repositories[node.subject].targets.size()) + " tags)";
        }
        case NodeKind::engine:
            return "container engine";
        case NodeKind::produce: {
            const auto& image = plan.images[node.subject];
            return image.selected->asset.id + " (" + std::string(to_string(image.kind)) + ")";
        }
    }
    return {};
}

}  // namespace

std::string_view to_string(SourceKind kind) {
    switch (kind) {
        case SourceKind::docker_build:
            return "docker build";
        case SourceKind::engine_load:
            return "engine load";
        case SourceKind::executable:
            return "executable";
        case SourceKind::archive:
            return "image archive";
    }
    return "?";
}

std::string_view package_kind(const manifest::FileSource& source) {
    if (source.executable) {
        return "executable";
    }
    return source.packaging == manifest::FilePackaging::zip ? "zip" : "file";
}

std::string_view to_string(NodeKind kind) {
    switch (kind) {
        case NodeKind::resolve:
            return "resolve";
        case NodeKind::check:
            return "check";
        case NodeKind::engine:
            return "engine";
        case NodeKind::produce:
            return "produce";
        case NodeKind::push:
            return "push";
        case NodeKind::resolve_file:
            return "resolve-file";
        case NodeKind::check_file:
            return "check-file";
        case NodeKind::package:
            return "package";
        case NodeKind::upload:
            return "upload";
    }
    return "?";
}

Plan make_plan(const manifest::Selection& selection, const PlanInputs& inputs) {
    Plan plan;
    plan.root = selection.root;
    plan_targets(selection, inputs, plan);
    plan_nodes(inputs, plan);
    plan_file_targets(selection, plan);
    plan_file_nodes(inputs, plan);
    return plan;
}

std::vector<std::string> describe(const Plan& plan) {
    std::vector<std::string> lines;
    for (std::size_t n = 0; n < plan.nodes.size(); ++n) {
        const auto& node = plan.nodes[n];
        // Appended piece by piece: GCC 12 -O3 warns -Wrestrict on "#" + std::string&& (a false
        // positive in the inlined insert).
        std::string line(1, '#');
        line.append(std::to_string(n)).append(" ").append(to_string(node.kind)).append(" ");
        line.append(node_subject(plan, node));
        if (!node.after.empty()) {
            line.append(" after");
            for (const auto dependency : node.after) {
                line.append(" #").append(std::to_string(dependency));
            }
        }
        lines.push_back(std::move(line));
    }
    return lines;
}

}  // namespace assetctl::publish
