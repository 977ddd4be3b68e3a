#include "publish/produce.hpp"

#include "docker/engine_client.hpp"
#include "publish/build_log.hpp"
#include "publish/engine_login.hpp"
#include "util/interrupt.hpp"
#include "util/strings.hpp"

namespace assetctl::publish {
namespace {

class Producer {
  public:
    Producer(RunState& run, ImageState& image)
        : run_(run),
          image_(image),
          selected_(*image.plan->selected),
          source_(selected_.asset.source) {}

    // True when the image is ready; false (targets failed or skipped) otherwise.
    bool produce(const std::vector<TargetState*>& waiting) {
        try {
            switch (image_.plan->kind) {
                case SourceKind::archive:
                    read_archive();
                    run_.count_build();
                    return true;
                case SourceKind::docker_build:
                    if (reuse_earlier_build()) {
                        if (pushes_natively()) {
                            prepare_native_push();
                        }
                        return true;
                    }
                    run_.deps().engine.check_build_options(source_);
                    log_in_for_build(waiting);
                    build();
                    break;
                case SourceKind::engine_load:
                    load();
                    break;
                case SourceKind::executable:
                    log_in_for_build(waiting);
                    run_executable();
                    break;
            }
            if (pushes_natively()) {
                prepare_native_push();
            }
            run_.count_build();
            run_.emit_asset(EventType::build, selected_.asset.id, "built " + image_.local_image,
                            since(started_));
            return true;
        } catch (const docker::EngineError& e) {
            for (auto* target : waiting) {
                run_.fail(*target, e.what(), e.output_tail());
            }
        } catch (const util::Interrupted& e) {
            for (auto* target : waiting) {
                run_.skip(*target, e.what());
            }
        } catch (const std::exception& e) {
            for (auto* target : waiting) {
                run_.fail(*target, e.what());
            }
        }
        return false;
    }

    // --dry-run: what would happen, as events; the targets are planned.
    void plan(const std::vector<TargetState*>& waiting) {
        const std::string what = would_do();
        run_.emit_asset(EventType::debug, selected_.asset.id, what);
        for (auto* target : waiting) {
            target->phase = Phase::finished;
            target->outcome.state = Outcome::State::planned;
            run_.emit(EventType::upload, *target,
                      run_.mode() == Mode::publish ? what + " and push " + destination_of(*target)
                                                   : what);
        }
    }

    std::string would_do() const {
        if (image_.plan->kind == SourceKind::archive) {
            return "would read " + image_.plan->archive->path.string();
        }
        if (source_.directory) {
            return "would build " + *source_.directory;
        }
        return "would run " + util::shell_join(*source_.executable);
    }

  private:
    static std::string destination_of(const TargetState& target) {
        return target.outcome.image_uri.empty() ? target.repository + ":" + target.tag
                                                : target.outcome.image_uri;
    }

    void output_line(std::string_view line) {
        if (run_.deps().build_output) {
            run_.deps().build_output(selected_.asset.id, line);
        }
    }

    // Engine images go out through assetctl's registry client under PushMode::native; a tarball
    // loaded into the engine (TarballMode::docker) is pushed by the engine, as asked.
    bool pushes_natively() const {
        return run_.mode() == Mode::publish && run_.deps().native != nullptr &&
               run_.options().push_mode == PushMode::native &&
               image_.plan->kind != SourceKind::engine_load;
    }

    // Reads what the engine knows of the image (`image inspect`); its bytes are exported only if
    // a destination lacks a layer the layer cache does not hold.
    void prepare_native_push() {
        auto& engine = run_.deps().engine;
        const auto inspect = engine.inspect_image(image_.local_image);
        image::EngineImageInfo info{registry::Digest::from_string(inspect.id),
                                    {},
                                    inspect.os,
                                    inspect.architecture,
                                    inspect.variant};
        for (const auto& diff_id : inspect.diff_ids) {
            info.diff_ids.push_back(registry::Digest::from_string(diff_id));
        }
        const std::string name = image_.local_image;
        image_.prepared = run_.deps().native->prepare_engine_image(
            std::move(info),
            [&engine, name](const std::function<void(int)>& read) { engine.save(name, read); },
            "asset '" + selected_.asset.id + "' (" + name + ")");
        run_.emit_asset(EventType::debug, selected_.asset.id,
                        "pushing natively: " + image_.prepared->describe());
    }

    bool reuse_earlier_build() {
        image_.local_image = docker::local_image_tag(selected_.asset.id);
        if (run_.options().force || !run_.deps().engine.image_exists(image_.local_image)) {
            return false;
        }
        run_.emit_asset(EventType::cached, selected_.asset.id,
                        "using the local image " + image_.local_image + " from an earlier build");
        return true;
    }

    // A build may read the destination's registry (a FROM line, cache options): cdk-assets logs
    // in first. Native pushes need no engine login, so there only cache options naming that
    // registry ask for one (into the private DOCKER_CONFIG the cli made for them).
    void log_in_for_build(const std::vector<TargetState*>& waiting) {
        if (run_.mode() != Mode::publish || !run_.deps().log_in_before_builds) {
            return;
        }
        for (auto* target : waiting) {
            if (target->registry_host.empty() ||
                (pushes_natively() && !needs_native_login(*target))) {
                continue;
            }
            run_.engine_logins().log_in(*target);
        }
    }

    bool needs_native_login(const TargetState& target) const {
        return run_.deps().docker_config != nullptr &&
               cache_options_use_registry(source_, target.registry_host);
    }

    void build() {
        const auto context = selected_.origin.directory / *source_.directory;
        run_.emit_asset(EventType::build, selected_.asset.id, "building " + image_.local_image);
        BuildLog log(run_.options().log_directory, selected_.asset.id);
        run_.deps().engine.build(source_, context, image_.local_image, [&](std::string_view line) {
            log.write(line);
            output_line(line);
        });
        check_outputs_left_an_image();
    }

    // With dockerOutputs the engine writes the result there and stores an image only for an
    // output that loads one (type=docker, type=image); with none there is nothing to publish.
    void check_outputs_left_an_image() {
        if (run_.mode() != Mode::publish || source_.docker_outputs.empty() ||
            run_.deps().engine.image_exists(image_.local_image)) {
            return;
        }
        throw docker::EngineError(
            "the build wrote its result to dockerOutputs (" +
                util::join(source_.docker_outputs, ", ") + ") and stored no image " +
                image_.local_image +
                " to publish; add an output that loads the image (type=docker or type=image), "
                "or use `assetctl build` for outputs only",
            {});
    }

    void load() {
        const auto& archive = *image_.plan->archive;
        run_.emit_asset(EventType::build, selected_.asset.id, "loading " + archive.path.string());
        image_.local_image = run_.deps().engine.load(archive.path);
        if (archive.tag) {
            image_.local_image = *archive.tag;  // `docker load` keeps every RepoTag
        }
    }

    void run_executable() {
        const auto& argv = *source_.executable;
        run_.emit_asset(EventType::build, selected_.asset.id, "running " + util::shell_join(argv));
        process::Command command;
        command.argv = argv;
        command.working_directory = selected_.origin.directory;
        command.on_stderr_line = [this](std::string_view line) { output_line(line); };
        const auto result = run_.deps().processes.run(command);
        const std::string image = util::trim(result.out);
        if (!result.ok() || image.empty()) {
            throw docker::EngineError(
                "the asset's executable " + util::shell_join(argv) +
                    (result.ok() ? " printed no image name"
                                 : " failed (exit " + std::to_string(result.exit_code) + ")"),
                util::last_lines(util::split_lines(result.err), 20));
        }
        image_.local_image = image.substr(image.rfind('\n') + 1);
    }

    // Reads and checks a tarball or layout; in publish mode also looks its layers up in the
    // layer cache (they are compressed while they are pushed).
    void read_archive() {
        const auto& archive = *image_.plan->archive;
        run_.emit_asset(EventType::build, selected_.asset.id, "reading " + archive.path.string());
        image_.prepared = run_.deps().native->prepare(
            archive.path, image::ImageSelector{archive.tag, archive.last_loaded},
            run_.mode() == Mode::build);
        run_.emit_asset(EventType::build, selected_.asset.id, "read " + image_.prepared->describe(),
                        since(started_));
    }

    RunState& run_;
    ImageState& image_;
    const SelectedImage& selected_;
    const manifest::DockerImageSource& source_;
    Clock::time_point started_ = Clock::now();
};

}  // namespace

void produce_image(RunState& run, ImageState& image) {
    const auto waiting = run.missing_targets(*image.plan);
    if (waiting.empty()) {
        return;
    }
    Producer producer(run, image);
    if (run.options().dry_run) {
        producer.plan(waiting);
        return;
    }
    if (!producer.produce(waiting)) {
        return;
    }
    if (run.mode() == Mode::build) {
        for (auto* target : waiting) {
            run.mark_built(*target);
        }
    }
}

void require_engine_if_needed(RunState& run) {
    if (run.options().dry_run || !run.deps().require_engine) {
        return;
    }
    for (const auto& image : run.plan().images) {
        if (image.kind != SourceKind::archive && !run.missing_targets(image).empty()) {
            run.deps().require_engine();
            return;
        }
    }
}

}  // namespace assetctl::publish
