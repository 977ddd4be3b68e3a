#pragma once

#include <cstddef>
#include <functional>
#include <vector>

namespace assetctl::publish {

// How run_graph treats the nodes it is given. `kind` indexes `limits`.
struct GraphNode {
    std::size_t kind = 0;
    std::vector<std::size_t> after;  // nodes that must finish (run or be skipped) first
};

struct GraphCallbacks {
    // Does the node's work. Failures that belong to an asset are recorded by the node itself;
    // an exception ends the whole run: nothing more starts and run_graph rethrows it once the
    // running nodes have finished.
    std::function<void(std::size_t node)> run;
    // Asked just before each node would start; true: start nothing more.
    std::function<bool()> stopping;
    // Called instead of `run` for each node that does not start because the run is stopping.
    std::function<void(std::size_t node)> skip;
};

// Runs every node once all nodes it comes after have finished, at most `limits[kind]` nodes of
// one kind at the same time (a limit of 0 counts as 1), each on a worker thread. Returns when
// every node has run or been skipped. Dependencies must point at earlier nodes (no cycles).
void run_graph(const std::vector<GraphNode>& nodes, const std::vector<std::size_t>& limits,
               const GraphCallbacks& callbacks);

}  // namespace assetctl::publish
