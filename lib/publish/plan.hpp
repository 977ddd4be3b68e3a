#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "manifest/selection.hpp"
#include "manifest/sources.hpp"

namespace assetctl::publish {

enum class Mode { build, publish };

using SelectedImage = manifest::Selected<manifest::DockerImageAsset>;
using SelectedFile = manifest::Selected<manifest::FileAsset>;

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

// "zip", "file" or "executable": how a file asset's upload is made.
std::string_view package_kind(const manifest::FileSource& source);

// One file asset at one S3 destination.
struct PlannedFileTarget {
    const SelectedFile* selected = nullptr;
    const manifest::FileDestination* destination = nullptr;
    std::size_t file = 0;  // index in Plan::files
};

// One file to package (zip, run its executable, or take as is), shared by every destination
// of the asset.
struct PlannedFile {
    const SelectedFile* selected = nullptr;
    std::vector<std::size_t> targets;  // indices in Plan::file_targets
};

// The kinds of work; each has a concurrency limit of its own.
enum class NodeKind {
    resolve,       // placeholders and the destination's role, for one image target
    check,         // what ECR already has, for one repository
    engine,        // the engine answers (once, before the first engine command)
    produce,       // build, load, run or read one image
    push,          // push one image to one target
    resolve_file,  // placeholders and the role, for one file target
    check_file,    // whether S3 has the object (ListObjectsV2), for one file target
    package,       // zip, run or take the file of one file asset
    upload,        // put one file into one bucket
};
inline constexpr std::size_t k_node_kinds = 9;

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
    std::vector<PlannedFileTarget> file_targets;  // in selection order
    std::vector<PlannedFile> files;
    std::vector<Node> nodes;     // every dependency points at an earlier node
    std::filesystem::path root;  // the cloud assembly's top folder (sources stay inside)
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
// selection: resolve nodes, check nodes, the engine node, produce nodes, push nodes; then for
// files resolve_file -> check_file -> package -> upload.
Plan make_plan(const manifest::Selection& selection, const PlanInputs& inputs);

// The plan as readable lines (`--dry-run`): one per node, with what it waits for.
std::vector<std::string> describe(const Plan& plan);

}  // namespace assetctl::publish
