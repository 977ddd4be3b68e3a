#include "publish/graph.hpp"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "util/thread_pool.hpp"

namespace assetctl::publish {
namespace {

class GraphRun {
  public:
    GraphRun(const std::vector<GraphNode>& nodes, const std::vector<std::size_t>& limits,
             const GraphCallbacks& callbacks)
        : nodes_(nodes),
          callbacks_(callbacks),
          waiting_for_(nodes.size()),
          dependents_(nodes.size()) {
        for (const auto limit : limits) {
            pools_.push_back(std::make_unique<util::ThreadPool>(std::max<std::size_t>(limit, 1)));
        }
        for (std::size_t n = 0; n < nodes.size(); ++n) {
            check_node(n);
            waiting_for_[n] = nodes[n].after.size();
            for (const auto dependency : nodes[n].after) {
                dependents_[dependency].push_back(n);
            }
        }
    }

    void run() {
        // Collected first: once a node runs, its dependents' counts change under our feet.
        std::vector<std::size_t> ready;
        for (std::size_t n = 0; n < nodes_.size(); ++n) {
            if (waiting_for_[n] == 0) {
                ready.push_back(n);
            }
        }
        for (const auto n : ready) {
            submit(n);
        }
        {
            std::unique_lock lock(mutex_);
            all_finished_.wait(lock, [this] { return finished_ == nodes_.size(); });
        }
        pools_.clear();  // joins the workers
        if (error_) {
            std::rethrow_exception(error_);
        }
    }

  private:
    void check_node(std::size_t n) const {
        if (nodes_[n].kind >= pools_.size()) {
            throw std::logic_error("run_graph: node " + std::to_string(n) + " has no limit");
        }
        for (const auto dependency : nodes_[n].after) {
            if (dependency >= n) {
                throw std::logic_error("run_graph: node " + std::to_string(n) +
                                       " depends on a later node");
            }
        }
    }

    void submit(std::size_t n) {
        pools_[nodes_[n].kind]->submit([this, n] { execute(n); });
    }

    bool stopping() {
        {
            std::lock_guard lock(mutex_);
            if (error_) {
                return true;
            }
        }
        return callbacks_.stopping && callbacks_.stopping();
    }

    void execute(std::size_t n) {
        try {
            if (stopping()) {
                callbacks_.skip(n);
            } else {
                callbacks_.run(n);
            }
        } catch (...) {
            std::lock_guard lock(mutex_);
            if (!error_) {
                error_ = std::current_exception();
            }
        }
        finish(n);
    }

    void finish(std::size_t n) {
        std::vector<std::size_t> ready;
        {
            std::lock_guard lock(mutex_);
            for (const auto dependent : dependents_[n]) {
                if (--waiting_for_[dependent] == 0) {
                    ready.push_back(dependent);
                }
            }
        }
        for (const auto dependent : ready) {
            submit(dependent);
        }
        std::lock_guard lock(mutex_);
        if (++finished_ == nodes_.size()) {
            all_finished_.notify_all();
        }
    }

    const std::vector<GraphNode>& nodes_;
    const GraphCallbacks& callbacks_;
    std::vector<std::unique_ptr<util::ThreadPool>> pools_;
    std::mutex mutex_;
    std::condition_variable all_finished_;
    std::vector<std::size_t> waiting_for_;
    std::vector<std::vector<std::size_t>> dependents_;
    std::size_t finished_ = 0;
    std::exception_ptr error_;
};

}  // namespace

void run_graph(const std::vector<GraphNode>& nodes, const std::vector<std::size_t>& limits,
               const GraphCallbacks& callbacks) {
    if (nodes.empty()) {
        return;
    }
    GraphRun(nodes, limits, callbacks).run();
}

}  // namespace assetctl::publish
