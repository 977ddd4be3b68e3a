// The scheduler on its own: order, per-kind limits, stopping, and a fatal node error. Nodes
// synchronise through the test's own condition variables, never through sleeps.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <vector>

#include <catch2/catch.hpp>

#include "publish/graph.hpp"

using assetctl::publish::GraphCallbacks;
using assetctl::publish::GraphNode;
using assetctl::publish::run_graph;

namespace {

// Records the order nodes start and finish in, and how many of each kind run at once.
class Recorder {
  public:
    void started(std::size_t node, std::size_t kind) {
        std::lock_guard lock(mutex_);
        order_.push_back(node);
        if (kind >= running_.size()) {
            running_.resize(kind + 1, 0);
            peak_.resize(kind + 1, 0);
        }
        peak_[kind] = std::max(peak_[kind], ++running_[kind]);
    }
    void finished(std::size_t kind) {
        std::lock_guard lock(mutex_);
        --running_[kind];
    }
    std::vector<std::size_t> order() const {
        std::lock_guard lock(mutex_);
        return order_;
    }
    std::size_t peak(std::size_t kind) const {
        std::lock_guard lock(mutex_);
        return kind < peak_.size() ? peak_[kind] : 0;
    }

  private:
    mutable std::mutex mutex_;
    std::vector<std::size_t> order_;
    std::vector<std::size_t> running_;
    std::vector<std::size_t> peak_;
};

// Holds each node that arrives until `count` nodes are inside at once, or for at most
// `deadline`: a node that would exceed a limit gets the chance to show itself.
class Gate {
  public:
    Gate(std::size_t count, std::chrono::milliseconds deadline)
        : count_(count), deadline_(deadline) {}
    void arrive_and_wait() {
        std::unique_lock lock(mutex_);
        ++inside_;
        changed_.notify_all();
        changed_.wait_for(lock, deadline_, [this] { return inside_ >= count_; });
        --inside_;
    }

  private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::size_t count_;
    std::chrono::milliseconds deadline_;
    std::size_t inside_ = 0;
};

}  // namespace

TEST_CASE("a node starts only after every node it comes after has finished") {
    // 0 -> 2, 1 -> 2, 2 -> 3
    const std::vector<GraphNode> nodes{{0, {}}, {0, {}}, {0, {0, 1}}, {0, {2}}};
    Recorder recorder;
    std::vector<std::atomic<bool>> done(nodes.size());
    std::atomic<int> violations{0};
    std::atomic<int> skips{0};
    run_graph(nodes, {4},
              GraphCallbacks{.run =
                                 [&](std::size_t n) {
                                     for (const auto dependency : nodes[n].after) {
                                         violations += done[dependency] ? 0 : 1;
                                     }
                                     recorder.started(n, 0);
                                     recorder.finished(0);
                                     done[n] = true;
                                 },
                             .stopping = [] { return false; },
                             .skip = [&](std::size_t) { ++skips; }});
    CHECK(violations == 0);
    CHECK(skips == 0);
    const auto order = recorder.order();
    REQUIRE(order.size() == 4);
    CHECK(order[2] == 2);
    CHECK(order[3] == 3);
}

TEST_CASE("at most `limit` nodes of one kind run at once, kinds apart from each other") {
    // Four nodes of kind 0 (limit 2) and two of kind 1 (limit 2). Kind-0 nodes wait in a gate
    // that only three nodes inside at once would open early: with the limit kept, two are
    // inside together (the peak is 2) and each pair leaves at the deadline; a third running
    // node would raise the peak to 3.
    std::vector<GraphNode> nodes{{0, {}}, {0, {}}, {0, {}}, {0, {}}, {1, {}}, {1, {}}};
    Recorder recorder;
    Gate both_inside(3, std::chrono::milliseconds(100));
    run_graph(nodes, {2, 2},
              GraphCallbacks{.run =
                                 [&](std::size_t n) {
                                     const auto kind = nodes[n].kind;
                                     recorder.started(n, kind);
                                     if (kind == 0) {
                                         both_inside.arrive_and_wait();
                                     }
                                     recorder.finished(kind);
                                 },
                             .stopping = [] { return false; },
                             .skip = [](std::size_t) {}});
    CHECK(recorder.order().size() == 6);
    CHECK(recorder.peak(0) == 2);
    CHECK(recorder.peak(1) <= 2);
}

TEST_CASE("a limit of one runs that kind's nodes one after another") {
    std::vector<GraphNode> nodes(5, GraphNode{0, {}});
    Recorder recorder;
    run_graph(nodes, {1},
              GraphCallbacks{.run =
                                 [&](std::size_t n) {
                                     recorder.started(n, 0);
                                     recorder.finished(0);
                                 },
                             .stopping = [] { return false; },
                             .skip = [](std::size_t) {}});
    CHECK(recorder.peak(0) == 1);
    CHECK(recorder.order() == std::vector<std::size_t>{0, 1, 2, 3, 4});  // submission order
}

TEST_CASE("once stopping, no node starts: each is skipped, dependents included") {
    // 0 -> 1 -> 2, and 3 independent; node 0 sets the stop.
    const std::vector<GraphNode> nodes{{0, {}}, {0, {0}}, {0, {1}}, {1, {0}}};
    std::atomic<bool> stop{false};
    std::vector<std::size_t> ran;
    std::vector<std::size_t> skipped;
    std::mutex mutex;
    run_graph(nodes, {1, 1},
              GraphCallbacks{.run =
                                 [&](std::size_t n) {
                                     std::lock_guard lock(mutex);
                                     ran.push_back(n);
                                     stop = true;
                                 },
                             .stopping = [&] { return stop.load(); },
                             .skip =
                                 [&](std::size_t n) {
                                     std::lock_guard lock(mutex);
                                     skipped.push_back(n);
                                 }});
    CHECK(ran == std::vector<std::size_t>{0});
    std::sort(skipped.begin(), skipped.end());
    CHECK(skipped == std::vector<std::size_t>{1, 2, 3});
}

TEST_CASE("a node's exception stops the run and comes out of run_graph") {
    const std::vector<GraphNode> nodes{{0, {}}, {0, {0}}, {0, {1}}};
    std::vector<std::size_t> skipped;
    std::atomic<int> ran_after_error{0};
    CHECK_THROWS_WITH(
        run_graph(nodes, {1},
                  GraphCallbacks{.run =
                                     [&](std::size_t n) {
                                         if (n == 0) {
                                             throw std::runtime_error("engine down");
                                         }
                                         ++ran_after_error;
                                     },
                                 .stopping = [] { return false; },
                                 .skip = [&](std::size_t n) { skipped.push_back(n); }}),
        "engine down");
    CHECK(skipped == std::vector<std::size_t>{1, 2});
    CHECK(ran_after_error == 0);
}

TEST_CASE("a dependency on a later node or a kind without a limit is a programming error") {
    const GraphCallbacks callbacks{
        .run = [](std::size_t) {}, .stopping = [] { return false; }, .skip = [](std::size_t) {}};
    CHECK_THROWS_AS(run_graph({{0, {1}}, {0, {}}}, {1}, callbacks), std::logic_error);
    CHECK_THROWS_AS(run_graph({{3, {}}}, {1}, callbacks), std::logic_error);
    CHECK_NOTHROW(run_graph({}, {}, callbacks));
}
