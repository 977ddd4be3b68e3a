#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "manifest/selection.hpp"
#include "manifest/sources.hpp"

namespace assetctl::publish {

enum class Mode { build, publish };

using SelectedImage = manifest::Selected<manifest::DockerImageAsset>;

// How an image is made available for its pushes.
enum class SourceKind {
    docker_build,  // `docker build` of a directory
    engine_load,   // an image tarball loaded into the engine (`docker load`)
    executable,    // a command that leaves an image in the engine and prints its name
    archive,       // an image tarball or OCI layout read by assetctl, pushed without the engine
};

std::string_view to_string(SourceKind kind);

// One asset at one destination: what gets an Outcome.
struct PlannedTarget {
    const SelectedImage* selected = nullptr;
    const manifest::DockerImageDestination* destination = nullptr;
    std::size_t image = 0;       // index in Plan::images
    std::size_t repository = 0;  // index in Plan::repositories
};

// One image to produce, shared by every destination of the same asset and source.
struct PlannedImage {
    const SelectedImage* selected = nullptr;
    SourceKind kind = SourceKind::docker_build;
    std::optional<manifest::ImageArchiveSource> archive;  // kind archive or engine_load
    std::vector<std::size_t> targets;                     // indices in Plan::targets
};

// Destinations that name the same repository in the same region as the same role, as written.
// Their check node asks ECR about them, together with any other destination that resolves to
// the same repository and identity (one DescribeRepositories + BatchGetImage for all).
struct PlannedRepository {
    std::vector<std::size_t> targets;
};

// The kinds of work; each has a concurrency limit of its own.
enum class NodeKind {
    resolve,  // placeholders and the destination's role, for one target
    check,    // what ECR already has, for one repository
    engine,   // the engine answers (once, before the first engine command)
    produce,  // build, load, run or read one image
    push,     // push one image to one target
};
inline constexpr std::size_t k_node_kinds = 5;

std::string_view to_string(NodeKind kind);

struct Node {
    NodeKind kind = NodeKind::resolve;
    std::size_t subject = 0;         // target, repository or image index (by kind); 0 for engine
    std::vector<std::size_t> after;  // nodes that must finish first
};

struct Plan {
    std::vector<PlannedTarget> targets;  // in selection order
    std::vector<PlannedImage> images;
    std::vector<PlannedRepository> repositories;
    std::vector<Node> nodes;  // every dependency points at an earlier node
};

struct PlanInputs {
    Mode mode = Mode::publish;
    // Whether ECR is consulted (resolve and check nodes); a build with --force or without
    // credentials builds everything.
    bool consult_aws = true;
    // Whether image tarballs and layouts are pushed without the engine.
    bool native_archives = true;
    std::optional<std::string> default_region = {};  // groups destinations naming no region
};

// Turns the selection into work: pure, no effect, no service asked. Node order follows the
// selection: resolve nodes, check nodes, the engine node, produce nodes, push nodes.
Plan make_plan(const manifest::Selection& selection, const PlanInputs& inputs);

// The plan as readable lines (`--dry-run`): one per node, with what it waits for.
std::vector<std::string> describe(const Plan& plan);

}  // namespace assetctl::publish
