#include "publish/publisher.hpp"

#include <algorithm>
#include <thread>

#include <spdlog/spdlog.h>

#include "aws/credentials.hpp"
#include "publish/ecr_check.hpp"
#include "publish/file_check.hpp"
#include "publish/graph.hpp"
#include "publish/package.hpp"
#include "publish/produce.hpp"
#include "publish/push_docker.hpp"
#include "publish/push_native.hpp"
#include "publish/resolve.hpp"
#include "publish/run_state.hpp"
#include "publish/upload.hpp"
#include "util/strings.hpp"

namespace assetctl::publish {
namespace {

using State = Outcome::State;

// The caller's credentials, or why there are none.
struct Caller {
    std::optional<aws::AwsCredentials> credentials;
    std::string error;
};

Caller resolve_caller(aws::CredentialsProvider& provider) {
    try {
        auto result = provider.resolve();
        if (!result.credentials) {
            throw aws::CredentialsError("no AWS credentials found");
        }
        spdlog::debug("AWS credentials from {}", result.credentials->source);
        return {std::move(result.credentials), {}};
    } catch (const std::exception& e) {
        return {std::nullopt, e.what()};
    }
}

// The node kinds that keep state across nodes of a run.
struct Workers {
    EcrCheck check;
    DockerPush docker;
    FileUpload upload;
};

// Sequences one run: credentials, the plan, then the work graph, one node kind per file.
class Sequencer {
  public:
    Sequencer(Mode mode, const manifest::Selection& selection, Dependencies& deps,
              const Options& options)
        : mode_(mode), selection_(selection), deps_(deps), options_(options) {}

    Summary run() {
        const bool ask_aws = wants_aws();
        const auto caller = ask_aws ? resolve_caller(deps_.aws.credentials) : Caller{};
        const bool consult = caller.credentials.has_value();
        if (mode_ == Mode::build && ask_aws && !consult) {
            spdlog::info(
                "no usable AWS credentials ({}); building every selected asset without "
                "consulting ECR",
                util::trim(caller.error.substr(0, 200)));
        }
        const auto plan = make_plan(selection_, plan_inputs(consult));
        RunState state(mode_, plan, deps_, options_);
        for_each_target(state, [&state](TargetProgress& target) {
            state.emit(EventType::start, target, "starting");
        });
        if (mode_ == Mode::publish && !consult) {
            for_each_target(state, [&](TargetProgress& target) {
                state.fail(target, "AWS credentials: " + caller.error);
            });
            return state.summary();
        }
        if (consult) {
            state.set_caller(*caller.credentials);
        } else {
            for_each_target(state, [](TargetProgress& target) { target.phase = Phase::missing; });
        }
        if (options_.dry_run) {
            log_plan(plan);
        }
        run_nodes(state);
        return state.summary();
    }

  private:
    // Image targets, then file targets.
    template <typename Action>
    static void for_each_target(RunState& state, Action action) {
        for (auto& target : state.targets()) {
            action(target);
        }
        for (auto& target : state.file_targets()) {
            action(target);
        }
    }

    // A build with --force never asks AWS; otherwise credentials are looked for.
    bool wants_aws() const {
        if (mode_ == Mode::build && options_.force) {
            spdlog::info("--force: building without consulting ECR");
            return false;
        }
        return true;
    }

    PlanInputs plan_inputs(bool consult) const {
        return PlanInputs{
            .mode = mode_,
            .consult_aws = consult,
            .native_archives =
                options_.tarball_mode == TarballMode::native && deps_.native != nullptr,
            .default_region = deps_.aws.default_region,
        };
    }

    static void log_plan(const Plan& plan) {
        spdlog::info("plan: {} nodes", plan.nodes.size());
        for (const auto& line : describe(plan)) {
            spdlog::info("  {}", line);
        }
    }

    std::vector<std::size_t> limits() const {
        const auto jobs = [](int n) { return static_cast<std::size_t>(std::max(n, 1)); };
        std::vector<std::size_t> limits(k_node_kinds, 1);
        limits[static_cast<std::size_t>(NodeKind::resolve)] = jobs(options_.publish_jobs);
        limits[static_cast<std::size_t>(NodeKind::check)] = jobs(options_.publish_jobs);
        limits[static_cast<std::size_t>(NodeKind::produce)] = jobs(options_.build_jobs);
        limits[static_cast<std::size_t>(NodeKind::push)] = jobs(options_.publish_jobs);
        limits[static_cast<std::size_t>(NodeKind::resolve_file)] = jobs(options_.publish_jobs);
        limits[static_cast<std::size_t>(NodeKind::check_file)] = jobs(options_.publish_jobs);
        // Zipping is CPU work of assetctl's own (no builder to protect): one per core.
        limits[static_cast<std::size_t>(NodeKind::package)] =
            std::max<std::size_t>(1, std::thread::hardware_concurrency());
        limits[static_cast<std::size_t>(NodeKind::upload)] = jobs(options_.publish_jobs);
        return limits;
    }

    void run_nodes(RunState& state) {
        const auto& plan = state.plan();
        std::vector<GraphNode> nodes;
        for (const auto& node : plan.nodes) {
            nodes.push_back(GraphNode{static_cast<std::size_t>(node.kind), node.after});
        }
        Workers workers{EcrCheck(state), DockerPush(state), FileUpload(state)};
        run_graph(nodes, limits(),
                  GraphCallbacks{
                      .run = [&](std::size_t n) { run_node(state, plan.nodes[n], workers); },
                      .stopping = [&state] { return state.stopping(); },
                      .skip = [&](std::size_t n) { skip_node(state, plan.nodes[n]); },
                  });
    }

    static void run_node(RunState& state, const Node& node, Workers& workers) {
        switch (node.kind) {
            case NodeKind::resolve:
                resolve_target(state, state.target(node.subject));
                break;
            case NodeKind::check:
                workers.check.check(state.plan().repositories[node.subject]);
                break;
            case NodeKind::engine:
                require_engine_if_needed(state);
                break;
            case NodeKind::produce:
                produce_image(state, state.image(node.subject));
                break;
            case NodeKind::push:
                push_target(state, state.target(node.subject), workers.docker);
                break;
            case NodeKind::resolve_file:
                resolve_file_target(state, state.file_target(node.subject));
                break;
            case NodeKind::check_file:
                check_file_target(state, state.file_target(node.subject));
                break;
            case NodeKind::package:
                package_file_asset(state, state.file(node.subject));
                break;
            case NodeKind::upload: {
                auto& target = state.file_target(node.subject);
                workers.upload.upload(target, state.file(target.plan->file));
                break;
            }
        }
    }

    static void push_target(RunState& state, TargetState& target, DockerPush& docker) {
        // Still missing after its produce node: the image is there (a failed or skipped
        // produce has finished its targets).
        if (target.phase != Phase::missing) {
            return;
        }
        const auto& image = state.image(target.plan->image);
        if (image.prepared) {  // an archive, or an engine image under PushMode::native
            push_natively(state, image, target);
        } else {
            docker.push(image, target);
        }
    }

    // A node that will not run leaves its unfinished targets skipped, with the reason.
    static void skip_node(RunState& state, const Node& node) {
        const auto& plan = state.plan();
        std::vector<std::size_t> targets;
        std::vector<std::size_t> file_targets;
        switch (node.kind) {
            case NodeKind::resolve:
            case NodeKind::push:
                targets = {node.subject};
                break;
            case NodeKind::check:
                targets = plan.repositories[node.subject].targets;
                break;
            case NodeKind::engine:
                break;
            case NodeKind::produce:
                targets = plan.images[node.subject].targets;
                break;
            case NodeKind::resolve_file:
            case NodeKind::check_file:
            case NodeKind::upload:
                file_targets = {node.subject};
                break;
            case NodeKind::package:
                file_targets = plan.files[node.subject].targets;
                break;
        }
        const auto skip_unfinished = [&state](TargetProgress& target) {
            if (target.phase != Phase::finished) {
                state.skip(target, state.stop_reason());
            }
        };
        for (const auto index : targets) {
            skip_unfinished(state.target(index));
        }
        for (const auto index : file_targets) {
            skip_unfinished(state.file_target(index));
        }
    }

    Mode mode_;
    const manifest::Selection& selection_;
    Dependencies& deps_;
    const Options& options_;
};

}  // namespace

std::string_view to_string(Outcome::State state) {
    switch (state) {
        case State::published:
            return "published";
        case State::present:
            return "present";
        case State::built:
            return "built";
        case State::planned:
            return "planned";
        case State::skipped:
            return "skipped";
        case State::failed:
            return "failed";
    }
    return "skipped";
}

bool Summary::ok() const {
    for (const auto& outcome : outcomes) {
        if (outcome.state == State::failed || outcome.state == State::skipped) {
            return false;
        }
    }
    return true;
}

Summary run(Mode mode, const manifest::Selection& selection, Dependencies& deps,
            const Options& options) {
    return Sequencer(mode, selection, deps, options).run();
}

}  // namespace assetctl::publish
