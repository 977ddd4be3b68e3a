#pragma once

#include <optional>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "aws/services.hpp"
#include "docker/engine.hpp"
#include "docker/engine_features.hpp"
#include "manifest/selection.hpp"
#include "publish/publisher.hpp"

namespace assetctl::cli {

// Everything `assetctl doctor` looks at, behind interfaces so tests can fake AWS.
struct DoctorInputs {
    aws::Services aws;
    docker::EngineStatus engine;
    // Which engine builds (unknown when not probed): which build options it honours.
    docker::EngineIdentity engine_identity;
    std::string region_source;  // "AWS_REGION", "profile ci", ... or empty when none
    // The selected assets whose destinations to check; nullopt when there is no assembly.
    std::optional<manifest::Selection> selection;
    // How publish would push (its --push-mode and --tarball-mode): reported per asset.
    publish::PushMode push_mode = publish::PushMode::native;
    publish::TarballMode tarball_mode = publish::TarballMode::native;
};

// The checks as one JSON document (the `--json` output) plus the overall verdict.
struct DoctorReport {
    nlohmann::ordered_json json;
    bool ok = true;
};

// Runs every check; a failing check is recorded, not thrown, so the report is complete.
DoctorReport run_doctor(DoctorInputs& inputs);

// The same report for people: one line per check, `ok` or `FAIL` with what to do.
void print_doctor(const DoctorReport& report, std::ostream& out);

}  // namespace assetctl::cli
